import { invalidRequest } from '../errors';
import { DirectExchange } from './direct-exchange';
import type { Exchange, ExchangeOptions, ExchangeType } from './exchange';
import { FanoutExchange } from './fanout-exchange';
import { HeadersExchange } from './headers-exchange';
import { TopicExchange } from './topic-exchange';

export const EXCHANGE_TYPES: readonly ExchangeType[] = ['direct', 'fanout', 'topic', 'headers'];

export const isExchangeType = (type: string): type is ExchangeType =>
  (EXCHANGE_TYPES as readonly string[]).includes(type);

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
    default:
      throw invalidRequest(`unknown exchange type '${type}'`);
  }
}
