/** A bcrypt job for a password worker: compare a password with a hash, or hash a password. */
export type PasswordJob = { id: number; kind: 'compare'; password: string; hash: string } | { id: number; kind: 'hash'; password: string; rounds: number };

/** A worker's answer to one job. */
export type PasswordJobResult = { id: number; ok: true; value: boolean | string } | { id: number; ok: false; error: string };
