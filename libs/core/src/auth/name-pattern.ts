import { RE2JS, RE2JSException } from 're2js';

/** A compiled name pattern: searched in a name (unanchored), as RabbitMQ's patterns are. */
export interface NamePattern {
  test(name: string): boolean;
}

/** Why a pattern was refused: invalid, unsupported by RE2, or too large. */
export class NamePatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NamePatternError';
  }
}

/** Longest pattern taken. */
export const MAX_PATTERN_LENGTH = 1000;
/**
 * Bound of a pattern's size once counted repetitions are unrolled (see sizeBound). RE2 runs in
 * time linear in the input but proportional to this size, and compiles in time proportional to
 * it: ~5000 keeps a compile and a search through ten thousand names under ~0.1 s each, where
 * `x{0,1000}` repeated a hundred times takes seconds to compile and minutes to run.
 */
export const MAX_PATTERN_SIZE = 5000;

/**
 * Compiles a regular expression that users set and that meets names chosen by others (list
 * filters, permissions, policies) with RE2 (re2js): linear time, so a pattern such as `(a+)+$`
 * cannot stall the event loop as a backtracking engine would on a long name. RE2 has no
 * backreferences or lookaround; such a pattern, an invalid one or one too large throws
 * NamePatternError with the reason.
 */
export function compileNamePattern(source: string, options: { caseInsensitive?: boolean } = {}): NamePattern {
  if (source.length > MAX_PATTERN_LENGTH) throw new NamePatternError(`longer than ${MAX_PATTERN_LENGTH} characters`);
  if (sizeBound(source) > MAX_PATTERN_SIZE) throw new NamePatternError(`too large once its repetitions are counted (at most ${MAX_PATTERN_SIZE})`);
  const flags = options.caseInsensitive === true ? RE2JS.CASE_INSENSITIVE : 0;
  const compile = (pattern: string): RE2JS => {
    try {
      return RE2JS.compile(pattern, flags);
    } catch (error) {
      throw new NamePatternError(error instanceof RE2JSException ? error.message : String(error));
    }
  };
  // RabbitMQ's well-known `^(?!amq\.).*` ("every name but amq.*"): lookaheads at the start are
  // RE2 patterns anchored there, which the name must (?=) or must not (?!) match
  const conditions: { pattern: RE2JS; wanted: boolean }[] = [];
  let rest = source;
  while (rest.startsWith('^(?=') || rest.startsWith('^(?!')) {
    const close = closingParen(rest, 1);
    if (close < 0) break;
    conditions.push({ pattern: compile(`^(?:${rest.slice(4, close)})`), wanted: rest[3] === '=' });
    rest = `^${rest.slice(close + 1)}`;
  }
  const main = compile(rest);
  if (conditions.length === 0) return main;
  return { test: (name) => conditions.every((c) => c.pattern.test(name) === c.wanted) && main.test(name) };
}

/** The index of the ')' closing the '(' at `open`, or -1 (escapes and character classes skipped). */
function closingParen(pattern: string, open: number): number {
  let depth = 0;
  let position = open;
  while (position < pattern.length) {
    const char = pattern[position];
    if (char === '\\') position += 2;
    else if (char === '[') position = endOfClass(pattern, position);
    else {
      if (char === '(') depth++;
      else if (char === ')' && --depth === 0) return position;
      position++;
    }
  }
  return -1;
}

/**
 * A pattern stored earlier: through RE2 when it can, else JavaScript's own engine, as it was
 * accepted before patterns were held to RE2 (so an older database still loads; such patterns
 * were set by administrators or policymakers of that time).
 */
export function storedNamePattern(source: string): NamePattern {
  try {
    return compileNamePattern(source);
  } catch {
    return new RegExp(source);
  }
}

/**
 * An upper bound of the size of the program a pattern compiles to: each atom counts one, times
 * the counted repetitions (`{n}`, `{n,m}`) of the atom or group it stands in, nested ones
 * multiplied. Deliberately rough (a class counts one, `\p{…}` one): it only has to stop patterns
 * whose repetitions unroll into huge programs before RE2 spends seconds on them.
 */
export function sizeBound(pattern: string): number {
  let position = 0;
  const quantifier = (): number => {
    const char = pattern[position];
    if (char === '*' || char === '+' || char === '?') {
      position++;
      if (pattern[position] === '?') position++;
      return 1;
    }
    const counted = /^\{(\d+)(?:,(\d*))?\}/.exec(pattern.slice(position, position + 24));
    if (counted === null) return 1;
    position += counted[0].length;
    if (pattern[position] === '?') position++;
    return Math.max(Number(counted[1]), Number(counted[2] || 0), 1);
  };
  const sequence = (): number => {
    let size = 0;
    while (position < pattern.length && pattern[position] !== ')') {
      let atom = 1;
      const char = pattern[position]!;
      if (char === '(') {
        position++;
        atom = sequence() + 1;
        position++; // the ')'
      } else if (char === '[') {
        position = endOfClass(pattern, position);
      } else if (char === '\\') {
        position += 2;
        if (pattern[position - 1] !== undefined && 'pPx'.includes(pattern[position - 1]!) && pattern[position] === '{') {
          const close = pattern.indexOf('}', position);
          position = close < 0 ? pattern.length : close + 1;
        }
      } else if (char === '|') {
        position++;
        atom = 1;
      } else position++;
      size += atom * quantifier();
      if (size > MAX_PATTERN_SIZE * 1000) return size;
    }
    return size;
  };
  let size = 0;
  while (position < pattern.length) {
    size += sequence();
    position++; // an unbalanced ')': RE2 refuses it anyway
  }
  return size;
}

/** The index after the character class that starts at `start` (`[`), honouring escapes and `[:name:]`. */
function endOfClass(pattern: string, start: number): number {
  let position = start + 1;
  if (pattern[position] === '^') position++;
  if (pattern[position] === ']') position++;
  while (position < pattern.length && pattern[position] !== ']') {
    if (pattern[position] === '\\') position += 2;
    else if (pattern.startsWith('[:', position)) {
      const close = pattern.indexOf(':]', position + 2);
      position = close < 0 ? position + 1 : close + 2;
    } else position++;
  }
  return position + 1;
}
