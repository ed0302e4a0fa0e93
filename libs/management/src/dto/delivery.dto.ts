import type { DeliveryJson, DeliveryState } from '#delivery';

/** GET /api/deliveries: deliveries by state, how many are being sent now, and a page of them. */
export interface DeliveryOverviewDto {
  counts: Record<DeliveryState, number>;
  /** Requests on the wire now. */
  sending: number;
  /** As the delivery API shows a delivery. */
  deliveries: DeliveryJson[];
}

/** POST /api/deliveries/{uuid}/replay and /api/deliveries-replay: how many dead deliveries go out again. */
export interface ReplayResultDto {
  replayed: number;
}
