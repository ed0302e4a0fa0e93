import { BadRequestException, UnauthorizedException } from '@nestjs/common';

/**
 * An authorization refusal, as RabbitMQ's management plugin answers it: 401 with
 * `{"error":"not_authorised","reason":…}` and no Basic challenge (the credentials were right; a
 * failed login is `not_authorized`, with the challenge).
 */
export class NotAuthorised extends UnauthorizedException {}

/**
 * What RabbitMQ answers when the AMQP channel it publishes on is closed by the broker: 400
 * `bad_request` whose reason is the channel's close code and text (e.g. `403 ACCESS_REFUSED - …`).
 */
export class ChannelClosed extends BadRequestException {
  constructor(code: number, name: string, text: string) {
    super(`${code} ${name} - ${text}`);
  }
}
