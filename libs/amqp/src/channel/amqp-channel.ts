import { randomBytes } from 'node:crypto';
import {
  BrokerError,
  EntryState,
  FieldTable,
  Message,
  peekProperties,
  decodeProperties,
  Queue,
  QueueEntry,
} from '#core';
import {
  AmqpMethod,
  BASIC_CLASS_ID,
  ContentHeader,
  decodeContentHeader,
  encodeBasicAckFrame,
  encodeBasicCancelFrame,
  encodeBasicCancelOkFrame,
  encodeBasicConsumeOkFrame,
  encodeBasicDeliverFrame,
  encodeBasicGetEmptyFrame,
  encodeBasicGetOkFrame,
  encodeBasicNackFrame,
  encodeBasicQosOkFrame,
  encodeBasicRecoverOkFrame,
  encodeBasicReturnFrame,
  encodeBodyFrames,
  encodeChannelCloseFrame,
  encodeChannelCloseOkFrame,
  encodeChannelFlowOkFrame,
  encodeConfirmSelectOkFrame,
  encodeContentHeaderFrame,
  encodeTxCommitOkFrame,
  encodeTxRollbackOkFrame,
  encodeTxSelectOkFrame,
  MethodId,
  ReplyCode,
} from '../codec';
import {
  AmqpError,
  channelError,
  commandInvalid,
  fromBrokerError,
  notAllowed,
  notImplemented,
  preconditionFailed,
  unexpectedFrame,
} from '../errors';
import { AmqpConsumer, ConsumerHost } from './amqp-consumer';
import type { ChannelHost } from './channel-host';
import { PublisherConfirms } from './publisher-confirms';
import { handleTopologyMethod } from './topology-methods';
import { Transaction } from './transaction';
import { UnackedTracker } from './unacked-tracker';

const enum ChannelState {
  Open,
  /** We sent channel.close and wait for close-ok; everything else is dropped. */
  Closing,
  Closed,
}

/** A basic.publish whose content frames are still arriving. */
interface PendingPublish {
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  header: ContentHeader | null;
  body: Buffer | null;
  received: number;
}

const generatedTag = (): string => `amq.ctag-${randomBytes(16).toString('base64url')}`;

/** One AMQP channel: content assembly, basic.*, confirms, transactions, and its consumers. */
export class AmqpChannel implements ConsumerHost {
  private state = ChannelState.Open;
  private publishing: PendingPublish | null = null;
  private deliveryTag = 0;
  private readonly unacked = new UnackedTracker();
  private readonly consumers = new Map<string, AmqpConsumer>();
  private unackedCount = 0;
  private unackedBytes = 0;
  /** basic.qos(global=false): applies to consumers created afterwards. */
  private consumerPrefetchCount = 0;
  private consumerPrefetchSize = 0;
  /** basic.qos(global=true): shared by all consumers of the channel. */
  private channelPrefetchCount = 0;
  private channelPrefetchSize = 0;
  private confirms: PublisherConfirms | null = null;
  private tx: Transaction | null = null;

  constructor(
    readonly id: number,
    private readonly host: ChannelHost,
  ) {}

  get isOpen(): boolean {
    return this.state === ChannelState.Open;
  }

  // ---- frames ----------------------------------------------------------------------------------

  onMethod(method: AmqpMethod): void {
    if (this.state !== ChannelState.Open) {
      // After we asked to close, only the handshake matters (spec 2.2.4 / RabbitMQ behaviour).
      if (method.id === MethodId.ChannelCloseOk) this.finishClose();
      else if (method.id === MethodId.ChannelClose) this.writeCloseOk();
      return;
    }
    if (this.publishing !== null) {
      throw unexpectedFrame(`expected content header for class 60, got a method frame on channel ${this.id}`);
    }
    try {
      this.handle(method);
    } catch (error) {
      throw asAmqpError(error, method.id);
    }
  }

  onHeader(payload: Buffer): void {
    if (this.state !== ChannelState.Open) return;
    const pending = this.publishing;
    if (pending === null || pending.header !== null) {
      throw unexpectedFrame(`content header frame on channel ${this.id} without a basic.publish before it`);
    }
    const header = decodeContentHeader(payload);
    if (header.classId !== BASIC_CLASS_ID) {
      throw unexpectedFrame(`content header for class ${header.classId}, expected class ${BASIC_CLASS_ID}`);
    }
    peekProperties(header.propertiesRaw); // validates the property list before we keep it
    if (header.bodySize > this.host.maxMessageBytes) {
      this.publishing = null;
      throw preconditionFailed(
        `message size ${header.bodySize} is larger than configured max size ${this.host.maxMessageBytes}`,
      ).withMethod(60, 40);
    }
    pending.header = header;
    if (header.bodySize === 0) this.completePublish(pending, Buffer.alloc(0));
  }

  onBody(payload: Buffer): void {
    if (this.state !== ChannelState.Open) return;
    const pending = this.publishing;
    if (pending === null || pending.header === null) {
      throw unexpectedFrame(`content body frame on channel ${this.id} without a content header before it`);
    }
    const size = pending.header.bodySize;
    const received = pending.received + payload.length;
    if (received > size) {
      throw unexpectedFrame(`content body frames on channel ${this.id} carry ${received} bytes, header said ${size}`);
    }
    if (pending.received === 0 && received === size) {
      // the usual single-frame body: one copy, detached from the socket chunk
      this.completePublish(pending, Buffer.from(payload));
      return;
    }
    pending.body ??= Buffer.allocUnsafe(size);
    payload.copy(pending.body, pending.received);
    pending.received = received;
    if (received === size) this.completePublish(pending, pending.body);
  }

  // ---- methods ---------------------------------------------------------------------------------

  private handle(method: AmqpMethod): void {
    const out = this.host.output;
    switch (method.id) {
      case MethodId.BasicPublish: {
        const a = method.args;
        if (a.immediate) throw notImplemented('immediate=true');
        this.publishing = { exchange: a.exchange, routingKey: a.routingKey, mandatory: a.mandatory, header: null, body: null, received: 0 };
        return;
      }
      case MethodId.BasicAck:
        if (this.tx) this.tx.add({ kind: 'ack', tag: method.args.deliveryTag, multiple: method.args.multiple });
        else this.settle(method.args.deliveryTag, method.args.multiple, true, false);
        return;
      case MethodId.BasicNack:
        if (this.tx) this.tx.add({ kind: 'nack', tag: method.args.deliveryTag, multiple: method.args.multiple, requeue: method.args.requeue });
        else this.settle(method.args.deliveryTag, method.args.multiple, false, method.args.requeue);
        return;
      case MethodId.BasicReject:
        if (this.tx) this.tx.add({ kind: 'nack', tag: method.args.deliveryTag, multiple: false, requeue: method.args.requeue });
        else this.settle(method.args.deliveryTag, false, false, method.args.requeue);
        return;
      case MethodId.BasicQos:
        this.qos(method.args.prefetchSize, method.args.prefetchCount, method.args.global);
        encodeBasicQosOkFrame(out.writer, this.id, {});
        break;
      case MethodId.BasicConsume:
        this.consume(method.args.queue, method.args.consumerTag, method.args.noAck, method.args.exclusive, method.args.noWait, method.args.arguments);
        return;
      case MethodId.BasicCancel:
        this.cancel(method.args.consumerTag);
        if (!method.args.noWait) encodeBasicCancelOkFrame(out.writer, this.id, { consumerTag: method.args.consumerTag });
        break;
      case MethodId.BasicGet:
        this.get(method.args.queue, method.args.noAck);
        break;
      case MethodId.BasicRecover:
      case MethodId.BasicRecoverAsync:
        this.requeueAll();
        if (method.id === MethodId.BasicRecover) encodeBasicRecoverOkFrame(out.writer, this.id, {});
        break;
      case MethodId.ConfirmSelect:
        if (this.tx) throw preconditionFailed('cannot switch from tx to confirm mode');
        this.confirms ??= new PublisherConfirms(this.host.broker.store, (tag, multiple, ack) => this.sendConfirm(tag, multiple, ack));
        if (!method.args.noWait) encodeConfirmSelectOkFrame(out.writer, this.id, {});
        break;
      case MethodId.TxSelect:
        if (this.confirms) throw preconditionFailed('cannot switch from confirm to tx mode');
        this.tx ??= new Transaction();
        encodeTxSelectOkFrame(out.writer, this.id, {});
        break;
      case MethodId.TxCommit:
        if (!this.tx) throw preconditionFailed('channel is not transactional');
        this.commit();
        return;
      case MethodId.TxRollback:
        if (!this.tx) throw preconditionFailed('channel is not transactional');
        this.tx.takeAll();
        encodeTxRollbackOkFrame(out.writer, this.id, {});
        break;
      case MethodId.ChannelFlow:
        if (!method.args.active) throw notImplemented('active=false');
        encodeChannelFlowOkFrame(out.writer, this.id, { active: true });
        break;
      case MethodId.ChannelFlowOk:
        break;
      case MethodId.ChannelClose:
        this.release();
        this.writeCloseOk();
        return;
      case MethodId.ChannelCloseOk:
        // close-ok without our close: ignore, as RabbitMQ does
        return;
      case MethodId.ChannelOpen:
        throw channelError(`second 'channel.open' seen on channel ${this.id}`);
      default:
        if (!handleTopologyMethod(method, this.id, this.host)) {
          throw commandInvalid(`method ${describeMethod(method.id)} is not valid on a channel here`);
        }
        return;
    }
    out.schedule();
  }

  // ---- publishing ------------------------------------------------------------------------------

  private completePublish(pending: PendingPublish, body: Buffer): void {
    this.publishing = null;
    const header = pending.header!;
    const encoded = Buffer.from(header.propertiesRaw);
    const message = new Message(pending.exchange, pending.routingKey, decodeProperties(encoded), encoded, body);
    if (this.tx) {
      this.tx.add({ kind: 'publish', exchange: pending.exchange, message, mandatory: pending.mandatory });
      return;
    }
    this.publish(pending.exchange, message, pending.mandatory);
  }

  private publish(exchange: string, message: Message, mandatory: boolean): void {
    let outcome;
    try {
      outcome = this.host.vhost.publish(exchange, message);
    } catch (error) {
      throw asAmqpError(error, MethodId.BasicPublish);
    }
    const persisted = outcome.persisted;
    if (outcome.routed === 0 && mandatory) this.returnMessage(message, ReplyCode.NoRoute, 'NO_ROUTE');
    this.confirms?.onPublish(persisted);
    this.host.publishAccepted(outcome.overloaded);
  }

  private returnMessage(message: Message, code: number, text: string): void {
    const out = this.host.output;
    encodeBasicReturnFrame(out.writer, this.id, {
      replyCode: code,
      replyText: text,
      exchange: message.exchange,
      routingKey: message.routingKey,
    });
    this.writeContent(message);
    out.schedule();
  }

  private sendConfirm(tag: number, multiple: boolean, ack: boolean): void {
    if (this.state !== ChannelState.Open) return;
    const out = this.host.output;
    if (ack) encodeBasicAckFrame(out.writer, this.id, { deliveryTag: tag, multiple });
    else encodeBasicNackFrame(out.writer, this.id, { deliveryTag: tag, multiple, requeue: false });
    out.schedule();
  }

  private commit(): void {
    const tx = this.tx!;
    for (const action of tx.takeAll()) {
      if (action.kind === 'publish') this.publish(action.exchange, action.message, action.mandatory);
      else this.settle(action.tag, action.multiple, action.kind === 'ack', action.kind === 'nack' && action.requeue);
    }
    const reply = (): void => {
      if (this.state !== ChannelState.Open) return;
      encodeTxCommitOkFrame(this.host.output.writer, this.id, {});
      this.host.output.schedule();
    };
    // acks and publishes of a committed transaction are durable before commit-ok
    this.host.broker.store.afterCommit((committed) => {
      if (committed) reply();
      else this.close(new AmqpError(ReplyCode.InternalError, 'INTERNAL_ERROR - the store could not commit the transaction', 90, 20));
    });
  }

  // ---- consuming -------------------------------------------------------------------------------

  private qos(prefetchSize: number, prefetchCount: number, global: boolean): void {
    if (global) {
      this.channelPrefetchCount = prefetchCount;
      this.channelPrefetchSize = prefetchSize;
      this.kickConsumers();
    } else {
      this.consumerPrefetchCount = prefetchCount;
      this.consumerPrefetchSize = prefetchSize;
    }
  }

  private consume(queueName: string, requestedTag: string, noAck: boolean, exclusive: boolean, noWait: boolean, args: FieldTable): void {
    const queue = this.resolveQueue(queueName);
    const tag = requestedTag === '' ? generatedTag() : requestedTag;
    if (this.consumers.has(tag)) throw notAllowed(`attempt to reuse consumer tag '${tag}'`);
    const rawPriority = args['x-priority'];
    const priority = typeof rawPriority === 'number' && Number.isInteger(rawPriority) ? rawPriority : 0;
    if (rawPriority !== undefined && typeof rawPriority !== 'number') {
      throw preconditionFailed(`invalid arg 'x-priority' for consumer '${tag}': expected an integer`);
    }
    const consumer = new AmqpConsumer(this, queue, tag, noAck, exclusive, priority, this.consumerPrefetchCount, this.consumerPrefetchSize, args);
    queue.checkConsumer(consumer);
    // consume-ok goes out before the first delivery, which addConsumer may write at once
    if (!noWait) encodeBasicConsumeOkFrame(this.host.output.writer, this.id, { consumerTag: tag });
    this.host.output.schedule();
    this.consumers.set(tag, consumer);
    queue.addConsumer(consumer);
  }

  private cancel(tag: string): void {
    const consumer = this.consumers.get(tag);
    if (consumer === undefined) return;
    this.consumers.delete(tag);
    consumer.queue.removeConsumer(consumer);
  }

  consumerCancelledByQueue(consumer: AmqpConsumer): void {
    if (this.consumers.get(consumer.tag) !== consumer) return;
    this.consumers.delete(consumer.tag);
    if (this.host.capabilities.consumerCancelNotify && this.state === ChannelState.Open) {
      encodeBasicCancelFrame(this.host.output.writer, this.id, { consumerTag: consumer.tag, noWait: true });
      this.host.output.schedule();
    }
  }

  canDeliver(consumer: AmqpConsumer, entry: QueueEntry): boolean {
    if (this.state !== ChannelState.Open || this.host.output.congested) return false;
    if (consumer.autoAck) return true;
    const size = entry.message.body.length;
    if (consumer.prefetchCount > 0 && consumer.unacked >= consumer.prefetchCount) return false;
    if (consumer.prefetchSize > 0 && consumer.unacked > 0 && consumer.unackedBytes + size > consumer.prefetchSize) return false;
    if (this.channelPrefetchCount > 0 && this.unackedCount >= this.channelPrefetchCount) return false;
    if (this.channelPrefetchSize > 0 && this.unackedCount > 0 && this.unackedBytes + size > this.channelPrefetchSize) return false;
    return true;
  }

  deliver(consumer: AmqpConsumer, entry: QueueEntry): void {
    const tag = ++this.deliveryTag;
    if (!consumer.autoAck) {
      entry.deliveryTag = tag;
      this.unacked.push(entry);
      consumer.unacked++;
      consumer.unackedBytes += entry.message.body.length;
      this.unackedCount++;
      this.unackedBytes += entry.message.body.length;
    }
    const out = this.host.output;
    const message = entry.message;
    encodeBasicDeliverFrame(out.writer, this.id, {
      consumerTag: consumer.tag,
      deliveryTag: tag,
      redelivered: entry.redelivered,
      exchange: message.exchange,
      routingKey: message.routingKey,
    });
    this.writeContent(message);
    out.schedule();
  }

  private get(queueName: string, noAck: boolean): void {
    const queue = this.resolveQueue(queueName);
    const out = this.host.output;
    const entry = queue.fetch(noAck);
    if (entry === undefined) {
      encodeBasicGetEmptyFrame(out.writer, this.id, {});
      return;
    }
    const tag = ++this.deliveryTag;
    if (!noAck) {
      entry.deliveryTag = tag;
      this.unacked.push(entry);
      this.unackedCount++;
      this.unackedBytes += entry.message.body.length;
    }
    encodeBasicGetOkFrame(out.writer, this.id, {
      deliveryTag: tag,
      redelivered: entry.redelivered,
      exchange: entry.message.exchange,
      routingKey: entry.message.routingKey,
      messageCount: queue.messageCount,
    });
    this.writeContent(entry.message);
  }

  private writeContent(message: Message): void {
    const out = this.host.output;
    const properties = message.encodedProperties ?? message.properties;
    encodeContentHeaderFrame(out.writer, this.id, BASIC_CLASS_ID, message.body.length, properties);
    encodeBodyFrames(out.writer, this.id, message.body, this.host.frameMax);
  }

  // ---- settling --------------------------------------------------------------------------------

  private settle(tag: number, multiple: boolean, ack: boolean, requeue: boolean): void {
    const apply = (entry: QueueEntry): void => this.settleEntry(entry, ack, requeue);
    if (multiple) {
      if (tag === 0) this.unacked.takeAll(apply);
      else {
        // as RabbitMQ: the tag itself must still be outstanding, even with multiple
        if (!this.unacked.has(tag)) throw preconditionFailed(`unknown delivery tag ${tag}`);
        this.unacked.takeUpTo(tag, apply);
      }
    } else {
      const entry = this.unacked.take(tag);
      if (entry === undefined) throw preconditionFailed(`unknown delivery tag ${tag}`);
      apply(entry);
    }
    if (this.channelPrefetchCount > 0 || this.channelPrefetchSize > 0) this.kickConsumers();
  }

  private settleEntry(entry: QueueEntry, ack: boolean, requeue: boolean): void {
    const size = entry.message.body.length;
    this.unackedCount--;
    this.unackedBytes -= size;
    const holder = entry.holder;
    if (holder instanceof AmqpConsumer) {
      holder.unacked--;
      holder.unackedBytes -= size;
    }
    if (entry.state !== EntryState.Unacked) return;
    if (ack) entry.queue.ack(entry);
    else entry.queue.reject(entry, requeue);
  }

  private requeueAll(): void {
    this.unacked.takeAll((entry) => this.settleEntry(entry, false, true));
    this.kickConsumers();
  }

  /** Channel-wide credit freed: let every queue we consume from deliver again. */
  private kickConsumers(): void {
    // a queue consumed twice is dispatched twice: harmless, and cheaper than de-duplicating
    for (const consumer of this.consumers.values()) consumer.queue.dispatch();
  }

  /** The socket drained: deliveries held back for congestion may go now. */
  resume(): void {
    this.kickConsumers();
  }

  private resolveQueue(name: string): Queue {
    const vhost = this.host.vhost;
    try {
      return vhost.getQueue(name, this.host.connectionId);
    } catch (error) {
      if (error instanceof BrokerError) throw fromBrokerError(error);
      throw error;
    }
  }

  // ---- closing ---------------------------------------------------------------------------------

  /** Closes the channel because of a soft error: send channel.close and wait for close-ok. */
  close(error: AmqpError): void {
    if (this.state !== ChannelState.Open) return;
    this.release();
    this.state = ChannelState.Closing;
    encodeChannelCloseFrame(this.host.output.writer, this.id, {
      replyCode: error.replyCode,
      replyText: error.replyText.slice(0, 255),
      classId: error.classId,
      methodId: error.methodId,
    });
    this.host.output.schedule();
  }

  private writeCloseOk(): void {
    encodeChannelCloseOkFrame(this.host.output.writer, this.id, {});
    this.host.output.schedule();
    this.finishClose();
  }

  private finishClose(): void {
    this.state = ChannelState.Closed;
    this.host.channelClosed(this.id);
  }

  /** Gives everything back: consumers cancelled, unacked deliveries requeued. Idempotent. */
  release(): void {
    this.publishing = null;
    for (const consumer of this.consumers.values()) consumer.queue.removeConsumer(consumer);
    this.consumers.clear();
    this.unacked.takeAll((entry) => this.settleEntry(entry, false, true));
    this.tx = null;
  }
}

function describeMethod(id: number): string {
  return `${id >>> 16}/${id & 0xffff}`;
}

/** Brings any error from handling a method into AMQP form, tagged with that method. */
export function asAmqpError(error: unknown, methodId: number): AmqpError {
  const classId = methodId >>> 16;
  const method = methodId & 0xffff;
  if (error instanceof AmqpError) return error.withMethod(classId, method);
  if (error instanceof BrokerError) return fromBrokerError(error).withMethod(classId, method);
  throw error;
}
