/** GET /healthz: the process answers. */
export interface LivenessDto {
  status: 'ok';
}

/** GET /readyz: 200 `ok`, or 503 `failed` with what is wrong (a resource alarm, a closed store). */
export interface ReadinessDto {
  status: 'ok' | 'failed';
  problems: string[];
}

/** GET /api/health/checks/alarms (and local-alarms), as RabbitMQ: 200 `ok`, or 503 with the alarms in effect. */
export type AlarmsCheckDto =
  | { status: 'ok' }
  | {
      status: 'failed';
      reason: string;
      alarms: { node: string; resource: string }[];
    };
