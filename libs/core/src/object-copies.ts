/**
 * Shallow copies for hot paths. On Node 20's V8 an object literal that adds properties after a
 * spread (`{ ...source, key: value }`, `{ ...a, ...b }` with `a` not frozen), or a spread copy
 * that properties are then added to, builds a new hidden class on every call: 1-6 µs a copy, and
 * each copy has a shape of its own, so the code reading them goes megamorphic. Copies made by
 * `Object.assign` onto an empty object, or property by property, share their shapes (50-250 ns).
 */

/**
 * `{ ...source, [key]: value }`, for our own records. Not for user-chosen keys (copiedRecord):
 * `Object.assign` would set the prototype for an own `__proto__` key where a spread copies it.
 */
export function copyWith<T extends object, K extends keyof T>(source: T, key: K, value: T[K]): T {
  const copy = Object.assign({}, source);
  copy[key] = value;
  return copy;
}

/** `{ ...first, ...second }`, for our own records (see copyWith). */
export function merged<T extends object, U extends object>(first: T, second: U): T & U {
  return Object.assign({}, first, second);
}

/**
 * `{ ...record }` for a record with user-chosen keys (headers) that more fields are added to: its
 * own keys copied one by one, an own `__proto__` key kept as a field, as a spread keeps it.
 */
export function copiedRecord<T>(record: Readonly<Record<string, T>> | undefined): Record<string, T> {
  const copy: Record<string, T> = {};
  if (record === undefined) return copy;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    if (key === '__proto__') Object.defineProperty(copy, key, { value: record[key], enumerable: true, writable: true, configurable: true });
    else copy[key] = record[key]!;
  }
  return copy;
}
