export * from './delivery.module';
export * from './delivery-options';
export { deliveryView } from './http/delivery-json';
export type { DeliveryAttemptJson, DeliveryJson } from './http/delivery-json';
export type { DeliveryRecord, DeliveryState } from './domain/delivery-index';
