export * from './delivery.module';
export * from './delivery-options';
export { deliveryView } from './http/delivery-http-server';
export type { DeliveryRecord, DeliveryState } from './domain/delivery-index';
