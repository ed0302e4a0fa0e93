// ESLint rule that holds the architecture's shape: libs/core knows no door, doors do not know
// each other, and everything outside a lib uses only its public entry ('#core', not '#core/...').
// Libraries reach each other through the package.json subpath imports ('#name').
import { dirname, relative, resolve, sep } from 'node:path';

/** Which libs each lib may import (by its public entry). apps/ may import every lib. */
export const ALLOWED_DEPENDENCIES = {
  core: [],
  config: [],
  observability: ['core'],
  amqp: ['core', 'observability'],
  'http-kit': ['core'],
  jobs: ['core', 'observability', 'http-kit'],
  delivery: ['core', 'observability', 'http-kit'],
  // the operator's layer: it shows (and acts on) what the doors hold, through their public APIs
  management: ['core', 'observability', 'http-kit', 'jobs', 'delivery'],
  // cluster mode (STORE=postgres): the PostgreSQL store, nodes, shared definitions; the app composes it
  cluster: ['core', 'observability'],
};

const LIB_NAMES = Object.keys(ALLOWED_DEPENDENCIES);

/**
 * Modules that are a transport: libs/core may import none of them, under any spelling (`net` or
 * `node:net`) and through no subpath (`undici/lib/...`).
 */
export const TRANSPORT_MODULES = ['net', 'http', 'https', 'http2', 'tls', 'dgram', 'fastify', '@nestjs/platform-fastify', 'undici'];

/**
 * Database drivers: libs/core may import none of them either (its stores are composed in; the
 * PostgreSQL one lives in libs/cluster, as a transport lives in its door).
 */
export const DRIVER_MODULES = ['pg', 'pg-native', 'postgres', 'pg-cursor', 'pg-pool'];

/** 'node:net' → 'net', 'undici/lib/x' → 'undici', '@scope/pkg/x' → '@scope/pkg'. */
function packageOf(spec) {
  const bare = spec.startsWith('node:') ? spec.slice(5) : spec;
  const parts = bare.split('/');
  return bare.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** 'libs/amqp/src/x.ts' → { kind: 'lib', name: 'amqp' }; apps → 'app'; anything else → 'other'. */
function placeOf(root, file) {
  const parts = relative(root, file).split(sep);
  if (parts[0] === 'libs' && parts[1]) return { kind: 'lib', name: parts[1] };
  if (parts[0] === 'apps') return { kind: 'app' };
  return { kind: 'other' };
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'keeps libs behind their public entry and the dependency graph acyclic and one-way' },
    schema: [],
    messages: {
      deep: "'{{spec}}' reaches past the public API of libs/{{lib}}: import '#{{lib}}' instead",
      forbidden: 'libs/{{from}} may not depend on libs/{{to}} (allowed: {{allowed}})',
      self: "libs/{{lib}} imports its own public entry '{{spec}}': use a relative import inside the lib",
      escapes: "relative import '{{spec}}' leaves libs/{{lib}}: another lib is reached through its public entry ('#name')",
      intoLib: "relative import '{{spec}}' reaches into libs/: import the lib's public entry ('#name')",
      unknown: "'{{spec}}' names no lib (known: {{known}})",
      transport: "libs/core knows no transport: '{{spec}}' belongs in a door",
      driver: "libs/core knows no database driver: '{{spec}}' belongs in the lib that composes its store (libs/cluster)",
    },
  },
  create(context) {
    const root = context.cwd;
    const file = context.filename;
    const place = placeOf(root, file);
    const check = (node, spec) => {
      if (typeof spec !== 'string') return;
      if (spec.startsWith('#')) {
        const [name, ...rest] = spec.slice(1).split('/');
        if (!LIB_NAMES.includes(name)) {
          context.report({ node, messageId: 'unknown', data: { spec, known: LIB_NAMES.join(', ') } });
          return;
        }
        if (place.kind !== 'other' && rest.length > 0) {
          context.report({ node, messageId: 'deep', data: { spec, lib: name } });
          return;
        }
        if (place.kind !== 'lib') return;
        if (name === place.name) context.report({ node, messageId: 'self', data: { spec, lib: name } });
        else if (!ALLOWED_DEPENDENCIES[place.name]?.includes(name)) {
          const allowed = ALLOWED_DEPENDENCIES[place.name]?.map((n) => `libs/${n}`).join(', ') || 'none';
          context.report({ node, messageId: 'forbidden', data: { from: place.name, to: name, allowed } });
        }
        return;
      }
      if (!spec.startsWith('.')) {
        if (place.kind === 'lib' && place.name === 'core' && TRANSPORT_MODULES.includes(packageOf(spec))) {
          context.report({ node, messageId: 'transport', data: { spec } });
        } else if (place.kind === 'lib' && place.name === 'core' && DRIVER_MODULES.includes(packageOf(spec))) {
          context.report({ node, messageId: 'driver', data: { spec } });
        }
        return;
      }
      const target = relative(root, resolve(dirname(file), spec)).split(sep);
      if (place.kind === 'lib' && !(target[0] === 'libs' && target[1] === place.name)) {
        context.report({ node, messageId: 'escapes', data: { spec, lib: place.name } });
      } else if (place.kind === 'app' && target[0] === 'libs') {
        context.report({ node, messageId: 'intoLib', data: { spec } });
      }
    };
    const fromSource = (node) => node.source && check(node.source, node.source.value);
    const fromLiteral = (node) => node?.type === 'Literal' && check(node, node.value);
    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression: (node) => fromLiteral(node.source),
      // type positions count too: `import('#amqp').AmqpService` ties the types of one lib to another
      TSImportType: (node) => fromLiteral(node.source ?? node.argument?.literal),
      // `import x = require('...')` and plain require() calls
      TSExternalModuleReference: (node) => fromLiteral(node.expression),
      CallExpression: (node) => node.callee.type === 'Identifier' && node.callee.name === 'require' && fromLiteral(node.arguments[0]),
    };
  },
};

export default { rules: { 'lib-boundaries': rule } };
