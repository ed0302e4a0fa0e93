export * from './delivery.module';
export * from './delivery-options';
export { deliveryView } from './http/delivery-json';
export type { DeliveryAttemptJson, DeliveryJson } from './http/delivery-json';
export type { DeliveryRecord, DeliveryState } from './domain/delivery-index';
export type { DeliveryFilter } from './domain/delivery-index';
export { DELIVERY_STATES } from './domain/delivery-index';
export { DeliveryRequestError } from './domain/delivery-errors';
export type { HostCircuitView } from './domain/circuit-breaker';
