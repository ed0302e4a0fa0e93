import type { DeliveryRecord, DeliveryState } from '../domain/delivery-index';

/** One attempt to send a delivery. */
export interface DeliveryAttemptJson {
  /** When it started (ISO 8601). */
  at: string;
  duration_ms: number;
  /** The HTTP status the destination answered, when it answered. */
  status?: number;
  /** The transport failure (refused, timeout, …) when it did not. */
  error?: string;
  /** The start of the response body, or the error's text. */
  response?: string;
}

/** A delivery as the delivery API and the management API show it: snake_case, times in ISO 8601. */
export interface DeliveryJson {
  uuid: string;
  state: DeliveryState;
  url: string;
  method: string;
  host: string;
  accepted_at: string;
  updated_at: string;
  attempts: DeliveryAttemptJson[];
  /** How often it was replayed after dying. */
  replays: number;
  /** When a pending delivery's next attempt is due. */
  next_attempt_at?: string;
  /** Why it died. */
  dead_reason?: string;
  ordering_key?: string;
}

export function deliveryView(record: DeliveryRecord): DeliveryJson {
  const iso = (ms: number): string => new Date(ms).toISOString();
  const view: DeliveryJson = {
    uuid: record.id,
    state: record.state,
    url: record.url,
    method: record.method,
    host: record.host,
    accepted_at: iso(record.acceptedAt),
    updated_at: iso(record.updatedAt),
    attempts: record.attempts.map((a) => ({
      at: iso(a.at),
      duration_ms: a.ms,
      ...(a.status !== undefined ? { status: a.status } : {}),
      ...(a.error !== undefined ? { error: a.error } : {}),
      ...(a.snippet !== undefined ? { response: a.snippet } : {}),
    })),
    replays: record.replays,
  };
  if (record.nextAttemptAt !== undefined) view.next_attempt_at = iso(record.nextAttemptAt);
  if (record.deadReason !== undefined) view.dead_reason = record.deadReason;
  if (record.orderingKey !== undefined) view.ordering_key = record.orderingKey;
  return view;
}
