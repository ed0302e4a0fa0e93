import { ValidationPipe } from '@nestjs/common';

/**
 * Validates request bodies against their DTO classes (class-validator). Fields the DTO does not
 * name are kept (RabbitMQ's bodies carry more than we use) but never reach a handler unchecked.
 */
export const RabbitBody = new ValidationPipe({ transform: true, forbidUnknownValues: false, whitelist: false });
