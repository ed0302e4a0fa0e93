// Lint: typescript-eslint's recommended rules, and the architecture's boundaries
// (scripts/eslint/lib-boundaries.mjs). Run by `npm test` before the build.
import tseslint from 'typescript-eslint';
import boundaries from './scripts/eslint/lib-boundaries.mjs';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'libs/amqp/src/codec/methods.generated.ts'] },
  ...tseslint.configs.recommended,
  {
    plugins: { broker: boundaries },
    rules: {
      'broker/lib-boundaries': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // the AMQP door's modules import the codec from its defining files (libs/amqp/src/codec/index.ts says why)
    files: ['libs/amqp/src/**/*.ts'],
    ignores: ['libs/amqp/src/codec/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(\\.{1,2}/)+codec(/index)?$', message: 'import from the codec file that defines it (see libs/amqp/src/codec/index.ts)' }] },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
