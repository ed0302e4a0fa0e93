import type { PolicyTarget, PolicyValue } from '#core';

/** A policy, as RabbitMQ's /api/policies. */
export interface PolicyDto {
  vhost: string;
  name: string;
  /** A regular expression (RE2) searched in the names of what it applies to. */
  pattern: string;
  'apply-to': PolicyTarget;
  /** The queue settings it carries (`max-length`, `message-ttl`, `dead-letter-exchange`, …). */
  definition: Record<string, PolicyValue>;
  /** Of the policies matching a queue, the one with the highest priority applies. */
  priority: number;
}
