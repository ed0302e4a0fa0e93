import { invalidRequest, preconditionFailed } from '../errors';
import { DELAYED_MESSAGE_TYPE, DelayedMessageExchange } from './delayed-message-exchange';
import { DirectExchange } from './direct-exchange';
import type { Exchange, ExchangeOptions, ExchangeType, RoutingType } from './exchange';
import { FanoutExchange } from './fanout-exchange';
import { HeadersExchange } from './headers-exchange';
import { TopicExchange } from './topic-exchange';

export const ROUTING_TYPES: readonly RoutingType[] = ['direct', 'fanout', 'topic', 'headers'];
export const EXCHANGE_TYPES: readonly ExchangeType[] = [...ROUTING_TYPES, DELAYED_MESSAGE_TYPE];

export const isExchangeType = (type: string): type is ExchangeType =>
  (EXCHANGE_TYPES as readonly string[]).includes(type);

const isRoutingType = (type: unknown): type is RoutingType => typeof type === 'string' && (ROUTING_TYPES as readonly string[]).includes(type);

export function createExchange(vhost: string, name: string, type: string, options: ExchangeOptions): Exchange {
  switch (type) {
    case 'direct':
      return new DirectExchange(vhost, name, options);
    case 'fanout':
      return new FanoutExchange(vhost, name, options);
    case 'topic':
      return new TopicExchange(vhost, name, options);
    case 'headers':
      return new HeadersExchange(vhost, name, options);
    case DELAYED_MESSAGE_TYPE: {
      const rule = options.arguments['x-delayed-type'];
      // the delayed-message plugin's text
      if (!isRoutingType(rule)) throw preconditionFailed(`Invalid argument, 'x-delayed-type' must be an existing exchange type`);
      return new DelayedMessageExchange(vhost, name, options, createExchange(vhost, name, rule, options));
    }
    default:
      throw invalidRequest(`unknown exchange type '${type}'`);
  }
}
