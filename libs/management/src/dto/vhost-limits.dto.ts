import type { VhostLimitValues } from '#core';

/** A vhost's limits, as RabbitMQ's /api/vhost-limits: only the limits set; -1 is no limit. */
export interface VhostLimitsDto {
  vhost: string;
  value: VhostLimitValues;
}

/**
 * A vhost's limits in a definitions export, as RabbitMQ writes them: the runtime parameter of
 * component `vhost-limits` named `limits`.
 */
export interface VhostLimitsParameterDto {
  vhost: string;
  component: 'vhost-limits';
  name: 'limits';
  value: VhostLimitValues;
}
