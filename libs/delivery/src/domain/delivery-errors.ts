/** A request the delivery API refuses: HTTP status, and the field at fault when there is one. */
export class DeliveryRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DeliveryRequestError';
  }
}

export const badField = (field: string, message: string): DeliveryRequestError => new DeliveryRequestError(400, message, field);
export const notFound = (message: string): DeliveryRequestError => new DeliveryRequestError(404, message);
export const conflict = (message: string): DeliveryRequestError => new DeliveryRequestError(409, message);
