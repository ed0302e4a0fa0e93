import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';

/** A path whose mode was narrowed at start, for the log. */
export interface TightenedMode {
  path: string;
  from: string;
  to: string;
}

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8)}`;

/** Narrows `path` to `mode` when others or the group could get in; answers what changed. */
function tighten(path: string, mode: number): TightenedMode | null {
  const current = statSync(path).mode & 0o7777;
  if ((current & 0o077) === 0) return null;
  chmodSync(path, mode);
  return { path, from: octal(current), to: octal(mode) };
}

/**
 * The database holds password hashes, message bodies and stored webhook credentials: its directory
 * is created 0700 and its files 0600 (the database file is made before SQLite opens it, and SQLite
 * gives its -wal and -shm files the database file's mode). Existing ones with wider modes are
 * narrowed, except a directory that is not the process's own or is sticky (a shared one such as
 * /tmp, which DATA_DIR should not be, and which must not be closed to its other users).
 */
export function preparePrivateDatabase(dir: string, file: string): TightenedMode[] {
  const changed: TightenedMode[] = [];
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dirStat = statSync(dir);
  const own = typeof process.getuid !== 'function' || dirStat.uid === process.getuid();
  if (own && (dirStat.mode & 0o1000) === 0) {
    const narrowed = tighten(dir, 0o700);
    if (narrowed !== null) changed.push(narrowed);
  }
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    if (!existsSync(path)) continue;
    const narrowed = tighten(path, 0o600);
    if (narrowed !== null) changed.push(narrowed);
  }
  return changed;
}
