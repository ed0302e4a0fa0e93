/**
 * A JSON string as it will read back from the store: lone surrogates (`"\ud800"` is valid JSON)
 * become U+FFFD, as UTF-8 encoding makes them, and as Go's JSON decoder (dispenserd's) does.
 * Applied once, at the edge, so a name means the same before and after a restart.
 */
export function wellFormed(text: string): string {
  // fast path: no surrogate code units at all
  if (!/[\ud800-\udfff]/.test(text)) return text;
  return Buffer.from(text, 'utf8').toString('utf8');
}
