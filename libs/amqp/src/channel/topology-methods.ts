import {
  AmqpMethod,
  encodeExchangeBindOkFrame,
  encodeExchangeDeclareOkFrame,
  encodeExchangeDeleteOkFrame,
  encodeExchangeUnbindOkFrame,
  encodeQueueBindOkFrame,
  encodeQueueDeclareOkFrame,
  encodeQueueDeleteOkFrame,
  encodeQueuePurgeOkFrame,
  encodeQueueUnbindOkFrame,
  MethodId,
} from '../codec/methods.generated';
import type { ChannelHost } from './channel-host';

/**
 * exchange.* and queue.* methods: thin translations onto the virtual host. Returns false when
 * the method is not one of them. Core errors propagate (the channel maps them to reply codes).
 */
export function handleTopologyMethod(method: AmqpMethod, channel: number, host: ChannelHost): boolean {
  const vhost = host.vhost;
  const owner = host.connectionId;
  const w = host.output.writer;
  switch (method.id) {
    case MethodId.ExchangeDeclare: {
      const a = method.args;
      if (!a.passive) {
        host.access.check('configure', 'exchange', a.exchange);
        if (vhost.findExchange(a.exchange) === undefined) host.access.checkDeclaration({ kind: 'exchange', name: a.exchange, arguments: a.arguments });
      }
      vhost.declareExchange({
        name: a.exchange,
        type: a.type,
        passive: a.passive,
        durable: a.durable,
        autoDelete: a.autoDelete,
        internal: a.internal,
        arguments: a.arguments,
      });
      if (!a.noWait) encodeExchangeDeclareOkFrame(w, channel, {});
      break;
    }
    case MethodId.ExchangeDelete:
      host.access.check('configure', 'exchange', method.args.exchange);
      vhost.deleteExchange(method.args.exchange, method.args.ifUnused);
      if (!method.args.noWait) encodeExchangeDeleteOkFrame(w, channel, {});
      break;
    case MethodId.ExchangeBind: {
      const a = method.args;
      host.access.check('write', 'exchange', a.destination);
      host.access.check('read', 'exchange', a.source);
      vhost.bind('exchange', a.destination, a.source, a.routingKey, a.arguments, owner);
      if (!a.noWait) encodeExchangeBindOkFrame(w, channel, {});
      break;
    }
    case MethodId.ExchangeUnbind: {
      const a = method.args;
      host.access.check('write', 'exchange', a.destination);
      host.access.check('read', 'exchange', a.source);
      vhost.unbind('exchange', a.destination, a.source, a.routingKey, a.arguments, owner);
      if (!a.noWait) encodeExchangeUnbindOkFrame(w, channel, {});
      break;
    }
    case MethodId.QueueDeclare: {
      const a = method.args;
      const queue = vhost.declareQueue({
        name: a.queue,
        passive: a.passive,
        durable: a.durable,
        exclusive: a.exclusive,
        autoDelete: a.autoDelete,
        arguments: a.arguments,
        owner,
        authorize: a.passive
          ? undefined
          : (name) => {
              host.access.check('configure', 'queue', name);
              if (vhost.findQueue(name) === undefined) host.access.checkDeclaration({ kind: 'queue', name, arguments: a.arguments });
            },
      });
      if (!a.noWait) {
        encodeQueueDeclareOkFrame(w, channel, {
          queue: queue.name,
          messageCount: queue.messageCount,
          consumerCount: queue.consumerCount,
        });
      }
      break;
    }
    case MethodId.QueueBind: {
      const a = method.args;
      host.access.check('write', 'queue', a.queue);
      host.access.check('read', 'exchange', a.exchange);
      vhost.bind('queue', a.queue, a.exchange, a.routingKey, a.arguments, owner);
      if (!a.noWait) encodeQueueBindOkFrame(w, channel, {});
      break;
    }
    case MethodId.QueueUnbind: {
      const a = method.args;
      host.access.check('write', 'queue', a.queue);
      host.access.check('read', 'exchange', a.exchange);
      vhost.unbind('queue', a.queue, a.exchange, a.routingKey, a.arguments, owner);
      encodeQueueUnbindOkFrame(w, channel, {});
      break;
    }
    case MethodId.QueuePurge: {
      host.access.check('read', 'queue', method.args.queue);
      const count = vhost.purgeQueue(method.args.queue, owner);
      if (!method.args.noWait) encodeQueuePurgeOkFrame(w, channel, { messageCount: count });
      break;
    }
    case MethodId.QueueDelete: {
      const a = method.args;
      host.access.check('configure', 'queue', a.queue);
      const count = vhost.deleteQueue(a.queue, { ifUnused: a.ifUnused, ifEmpty: a.ifEmpty, owner });
      if (!a.noWait) encodeQueueDeleteOkFrame(w, channel, { messageCount: count });
      break;
    }
    default:
      return false;
  }
  host.output.schedule();
  return true;
}
