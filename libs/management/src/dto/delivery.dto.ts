import type { DeliveryJson, DeliveryState } from '#delivery';

/**
 * A delivery's state as the management page sorts them: the delivery door's states, with its
 * `pending` split in two — `pending` (waiting for its first attempt, or for its first after a
 * replay) and `retrying` (waiting for another attempt after one failed: it has a next_attempt_at).
 */
export type DeliveryPageState = DeliveryState | 'retrying';

/** A destination host whose deliveries failed since its last success (its circuit). */
export interface DeliveryCircuitDto {
  host: string;
  /** Consecutive failures. */
  failures: number;
  /** Open: the host's deliveries wait for the next probe. */
  open: boolean;
  /** When open: when the next probe may go (ISO 8601). */
  next_probe_at?: string;
  /** A probe is on its way now. */
  probing: boolean;
}

/**
 * GET /api/deliveries (`state`, `host`, `page`, `page_size`): deliveries by state, how many are
 * being sent now, one page of those the filter selects (in acceptance order), and the circuits.
 */
export interface DeliveryOverviewDto {
  counts: Record<DeliveryPageState, number>;
  /** Requests on the wire now. */
  sending: number;
  /** As the delivery API shows a delivery. */
  deliveries: DeliveryJson[];
  page: number;
  page_size: number;
  page_count: number;
  /** Deliveries the filter selects, on all pages. */
  filtered_count: number;
  /** Hosts with failures since their last success, open circuits first. */
  circuits: DeliveryCircuitDto[];
}

/** POST /api/deliveries/{uuid}/replay and /api/deliveries-replay: how many dead deliveries go out again. */
export interface ReplayResultDto {
  replayed: number;
  /** With `uuids`: the ones not replayed, and why (unknown, or not dead). */
  not_replayed?: { uuid: string; reason: string }[];
}
