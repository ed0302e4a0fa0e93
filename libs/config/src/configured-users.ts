/** A user defined in the configuration file: a bcrypt hash, and tags (administrator by default). */
export interface ConfiguredUser {
  name: string;
  passwordHash: string;
  tags: string[];
}

/**
 * Reads dispatchd's user configuration form `{ name: { password_bcrypt_base64 } }` (a base64 of the
 * bcrypt hash), also accepting `password_bcrypt` (the hash itself), with optional `tags` (an array
 * or a comma-separated string; administrator when absent).
 */
export function usersFromConfig(config: unknown): ConfiguredUser[] {
  if (config === undefined || config === null) return [];
  if (typeof config !== 'object' || Array.isArray(config)) throw new Error('users: expected an object of users');
  const out: ConfiguredUser[] = [];
  for (const [name, value] of Object.entries(config as Record<string, unknown>)) {
    if (value === null || typeof value !== 'object') throw new Error(`users.${name}: expected an object`);
    const entry = value as Record<string, unknown>;
    let hash: string | undefined;
    if (typeof entry.password_bcrypt_base64 === 'string') {
      hash = Buffer.from(entry.password_bcrypt_base64, 'base64').toString('utf8');
    } else if (typeof entry.password_bcrypt === 'string') hash = entry.password_bcrypt;
    if (hash === undefined || !/^\$2[abxy]?\$\d{2}\$/.test(hash)) {
      throw new Error(`users.${name}: needs password_bcrypt_base64 (or password_bcrypt) holding a bcrypt hash`);
    }
    const tags = Array.isArray(entry.tags) ? entry.tags.map(String) : typeof entry.tags === 'string' ? entry.tags.split(',').map((t) => t.trim()) : ['administrator'];
    out.push({ name, passwordHash: hash, tags });
  }
  return out;
}
