import type { HashingAlgorithm } from '#core';

/** A user, as RabbitMQ's /api/users and the `users` of a definitions export. */
export interface UserDto {
  name: string;
  password_hash: string;
  /** bcrypt for users made here; RabbitMQ's schemes for users imported with their hashes. */
  hashing_algorithm: HashingAlgorithm;
  /** administrator, monitoring, policymaker, management, … (a list, as RabbitMQ since 3.9). */
  tags: string[];
  /** Per-user limits: none are kept, always {}. */
  limits: Record<string, never>;
}

/** The user making the request (GET /api/whoami). */
export interface CurrentUserDto {
  name: string;
  tags: string[];
}
