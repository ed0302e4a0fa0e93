import { BadRequestException } from '@nestjs/common';
import { compileNamePattern, NamePatternError } from '#core';

/**
 * The predicate of a list's `name` filter: a case-insensitive substring, or with `use_regex` a
 * regular expression searched in the name, run by RE2 (linear time: `(a+)+$` cannot stall the
 * event loop). An invalid pattern, one RE2 cannot take (backreferences, lookaround) or one too
 * large is a 400 with the reason.
 */
export function nameFilter(name: string, useRegex: boolean): (candidate: string) => boolean {
  if (!useRegex) {
    const needle = name.toLowerCase();
    return (candidate) => candidate.toLowerCase().includes(needle);
  }
  try {
    const pattern = compileNamePattern(name, { caseInsensitive: true });
    return (candidate) => pattern.test(candidate);
  } catch (error) {
    if (!(error instanceof NamePatternError)) throw error;
    throw new BadRequestException(`name is not a regular expression the broker takes (RE2 syntax): ${error.message}`);
  }
}
