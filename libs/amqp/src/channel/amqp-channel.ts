import { randomBytes } from 'node:crypto';
import { ChannelSnapshot, EntryState, FieldTable, Message, NO_COMMIT_NEEDED, PublishOutcome, Queue, QueueEntry, renderedProperties } from '#core';
import { BASIC_CLASS_ID, encodeContentHeaderFrame } from '../codec/content';
import {
  AmqpMethod,
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
  encodeChannelCloseFrame,
  encodeChannelCloseOkFrame,
  encodeChannelFlowOkFrame,
  encodeConfirmSelectOkFrame,
  encodeTxCommitOkFrame,
  encodeTxRollbackOkFrame,
  encodeTxSelectOkFrame,
  methodNameOf,
  MethodId,
  ReplyCode,
} from '../codec/methods.generated';
import {
  AmqpError,
  channelError,
  commandInvalid,
  internalError,
  isUnexpected,
  notAllowed,
  notImplemented,
  preconditionFailed,
  replyTextOf,
  toAmqpError,
  unexpectedFrame,
} from '../errors';
import { AmqpConsumer, ConsumerHost } from './amqp-consumer';
import type { ChannelHost } from './channel-host';
import { ContentAssembler } from './content-assembler';
import { PublisherConfirms } from './publisher-confirms';
import { handleTopologyMethod } from './topology-methods';
import { Transaction } from './transaction';
import { ConsumerCredit, UnackedDeliveries } from './unacked-deliveries';

const enum ChannelState {
  Open,
  /** We sent channel.close and wait for close-ok; everything else is dropped. */
  Closing,
  Closed,
}

const generatedTag = (): string => `amq.ctag-${randomBytes(16).toString('base64url')}`;

/** One AMQP channel: basic.*, confirms, transactions, and its consumers. */
export class AmqpChannel implements ConsumerHost {
  private state = ChannelState.Open;
  private readonly content: ContentAssembler;
  private deliveryTag = 0;
  private readonly unacked = new UnackedDeliveries();
  private readonly consumers = new Map<string, AmqpConsumer>();
  /** basic.qos(global=false): applies to consumers created afterwards. */
  private consumerPrefetchCount = 0;
  private consumerPrefetchSize = 0;
  private confirms: PublisherConfirms | null = null;
  private publishes = 0;
  private tx: Transaction | null = null;
  /** Consumer timeout: wakes when the oldest unacknowledged delivery may have been held too long. */
  private ackTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: number,
    private readonly host: ChannelHost,
  ) {
    this.content = new ContentAssembler(id, host.maxMessageBytes, (exchange, message, mandatory) => this.assembled(exchange, message, mandatory));
  }

  get isOpen(): boolean {
    return this.state === ChannelState.Open;
  }

  snapshot(): ChannelSnapshot {
    return {
      number: this.id,
      consumers: this.consumers.size,
      unacknowledged: this.unacked.size,
      prefetchCount: this.consumerPrefetchCount,
      confirm: this.confirms !== null,
      transactional: this.tx !== null,
      publishes: this.publishes,
    };
  }

  // ---- frames ----------------------------------------------------------------------------------

  onMethod(method: AmqpMethod): void {
    if (this.state !== ChannelState.Open) {
      // After we asked to close, only the close handshake matters (spec 2.2.4). A client close
      // that crossed ours is answered; we keep waiting for the close-ok of ours (as RabbitMQ).
      if (method.id === MethodId.ChannelCloseOk) this.finishClose();
      else if (method.id === MethodId.ChannelClose) this.writeCloseOk();
      return;
    }
    if (this.content.busy) {
      throw unexpectedFrame(`expected content header for class 60, got a method frame on channel ${this.id}`);
    }
    try {
      this.handle(method);
    } catch (error) {
      throw blame(error, method.id);
    }
  }

  onHeader(payload: Buffer): void {
    if (this.state === ChannelState.Open) this.content.onHeader(payload);
  }

  /** Where the next body frame of `size` bytes may be parsed into (see FrameParser.bodyTarget). */
  bodyTarget(size: number): Buffer | null {
    return this.state === ChannelState.Open ? this.content.bodyTarget(size) : null;
  }

  onBody(payload: Buffer, owned = false): void {
    if (this.state === ChannelState.Open) this.content.onBody(payload, owned);
  }

  // ---- methods ---------------------------------------------------------------------------------

  private handle(method: AmqpMethod): void {
    const out = this.host.output;
    switch (method.id) {
      case MethodId.BasicPublish: {
        const a = method.args;
        if (a.immediate) throw notImplemented('immediate=true');
        this.content.begin(a.exchange, a.routingKey, a.mandatory);
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
        this.confirms ??= new PublisherConfirms(this.host.durability, (tag, multiple, ack, answered) => this.sendConfirm(tag, multiple, ack, answered));
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
        this.finishClose();
        return;
      case MethodId.ChannelCloseOk:
        // close-ok without our close: ignore, as RabbitMQ does
        return;
      case MethodId.ChannelOpen:
        throw channelError(`second 'channel.open' seen on channel ${this.id}`);
      default:
        if (!handleTopologyMethod(method, this.id, this.host)) {
          throw commandInvalid(`method ${methodNameOf(method.id)} is not valid on a channel here`);
        }
        return;
    }
    out.schedule();
  }

  // ---- publishing ------------------------------------------------------------------------------

  private assembled(exchange: string, message: Message, mandatory: boolean): void {
    const userId = message.properties.userId;
    if (userId !== undefined && userId !== this.host.user) {
      // as RabbitMQ: user_id must name the authenticated user
      throw preconditionFailed(`user_id property set to '${userId}' but authenticated user was '${this.host.user}'`).withMethod(MethodId.BasicPublish);
    }
    if (this.tx) this.tx.add({ kind: 'publish', exchange, message, mandatory });
    else this.publish(exchange, message, mandatory);
  }

  private publish(exchange: string, message: Message, mandatory: boolean): void {
    let outcome: PublishOutcome;
    try {
      this.host.access.check('write', 'exchange', exchange);
      outcome = this.host.vhost.publish(exchange, message);
    } catch (error) {
      throw blame(error, MethodId.BasicPublish);
    }
    this.host.stats.received++;
    this.publishes++;
    if (this.confirms !== null) this.host.stats.receivedConfirm++;
    this.answerPublish(outcome, message, mandatory);
  }

  /**
   * The one place this door answers a publish from its outcome: basic.return for a mandatory
   * message no queue took, the confirm (basic.ack once what it waits for is committed, basic.nack
   * when a queue refused it), and flow control when a queue it reached is overloaded.
   */
  private answerPublish(outcome: PublishOutcome, message: Message, mandatory: boolean): void {
    if (outcome.kind === 'unroutable' && mandatory) {
      this.returnMessage(message, ReplyCode.NoRoute, 'NO_ROUTE');
      this.host.stats.returned++;
    }
    const confirms = this.confirms;
    if (confirms !== null) {
      if (outcome.kind === 'refused') confirms.onRefused();
      else {
        const seq = confirms.onPublish(outcome.commitToken);
        // acked by its consumers before it was written, it needs no commit: confirmed at once
        if (outcome.commitToken !== NO_COMMIT_NEEDED) message.whenConsumedUnwritten(() => confirms.confirmNow(seq));
      }
    }
    this.host.publishAccepted(outcome.overloaded, outcome.commitToken, message.body.length);
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

  private sendConfirm(tag: number, multiple: boolean, ack: boolean, answered: number): void {
    if (this.state !== ChannelState.Open) return;
    if (ack) this.host.stats.confirmed += answered;
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
    // acks and publishes of a committed transaction are durable before commit-ok
    const durability = this.host.durability;
    durability.onDurable(durability.durabilityToken(), (committed) => {
      if (this.state !== ChannelState.Open) return;
      if (committed) {
        encodeTxCommitOkFrame(this.host.output.writer, this.id, {});
        this.host.output.schedule();
      } else {
        this.close(internalError('the store could not commit the transaction').withMethod(MethodId.TxCommit));
      }
    });
  }

  // ---- consuming -------------------------------------------------------------------------------

  private qos(prefetchSize: number, prefetchCount: number, global: boolean): void {
    if (global) {
      this.unacked.setChannelPrefetch(prefetchCount, prefetchSize);
      this.kickConsumers();
    } else {
      this.consumerPrefetchCount = prefetchCount;
      this.consumerPrefetchSize = prefetchSize;
    }
  }

  private consume(queueName: string, requestedTag: string, noAck: boolean, exclusive: boolean, noWait: boolean, args: FieldTable): void {
    this.host.access.check('read', 'queue', queueName);
    const queue = this.host.vhost.getQueue(queueName, this.host.connectionId);
    const tag = requestedTag === '' ? generatedTag() : requestedTag;
    if (this.consumers.has(tag)) throw notAllowed(`attempt to reuse consumer tag '${tag}'`);
    const max = this.host.maxConsumersPerChannel;
    if (max > 0 && this.consumers.size >= max) throw notAllowed(`reached maximum (${max}) of consumers per channel`);
    const rawPriority = args['x-priority'];
    const priority = typeof rawPriority === 'number' && Number.isInteger(rawPriority) ? rawPriority : 0;
    if (rawPriority !== undefined && typeof rawPriority !== 'number') {
      throw preconditionFailed(`invalid arg 'x-priority' for consumer '${tag}': expected an integer`);
    }
    const credit = new ConsumerCredit(this.consumerPrefetchCount, this.consumerPrefetchSize);
    const consumer = new AmqpConsumer(this, queue, tag, noAck, exclusive, priority, credit, args, `${this.host.connectionId}#${this.id}`);
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
    return consumer.autoAck || this.unacked.hasCredit(consumer.credit, entry.message.body.length);
  }

  deliver(consumer: AmqpConsumer, entry: QueueEntry): void {
    const tag = ++this.deliveryTag;
    if (!consumer.autoAck) {
      this.unacked.add(entry, tag, consumer.credit);
      this.watchAcks();
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
    this.host.access.check('read', 'queue', queueName);
    const queue: Queue = this.host.vhost.getQueue(queueName, this.host.connectionId);
    const out = this.host.output;
    const entry = queue.fetch(noAck);
    if (entry === undefined) {
      encodeBasicGetEmptyFrame(out.writer, this.id, {});
      return;
    }
    const tag = ++this.deliveryTag;
    if (!noAck) {
      this.unacked.add(entry, tag, null);
      this.watchAcks();
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
    // as received when the broker annotated nothing (the AMQP path: no re-encoding); else the
    // annotations become the headers clients know (x-death, x-delivery-count, a job's x-job-*)
    const properties = message.annotations === null ? (message.encodedProperties ?? message.properties) : renderedProperties(message);
    encodeContentHeaderFrame(out.writer, this.id, BASIC_CLASS_ID, message.body.length, properties);
    out.writeBodyFrames(this.id, message.body, this.host.frameMax);
  }

  // ---- settling --------------------------------------------------------------------------------

  private settle(tag: number, multiple: boolean, ack: boolean, requeue: boolean): void {
    const apply = (entry: QueueEntry): void => settleEntry(entry, ack, requeue);
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
    if (this.unacked.channelLimited) this.kickConsumers();
  }

  private requeueAll(): void {
    this.unacked.takeAll(requeueEntry);
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

  // ---- closing ---------------------------------------------------------------------------------

  /** Closes the channel because of a soft error: send channel.close and wait for close-ok. */
  close(error: AmqpError): void {
    if (this.state !== ChannelState.Open) return;
    this.release();
    this.state = ChannelState.Closing;
    encodeChannelCloseFrame(this.host.output.writer, this.id, {
      replyCode: error.replyCode,
      replyText: replyTextOf(error.replyText),
      classId: error.classId,
      methodId: error.methodId,
    });
    this.host.output.schedule();
  }

  private writeCloseOk(): void {
    encodeChannelCloseOkFrame(this.host.output.writer, this.id, {});
    this.host.output.schedule();
  }

  private finishClose(): void {
    this.state = ChannelState.Closed;
    this.host.channelClosed(this.id);
  }

  /** The consumer timeout of a delivery: its queue's x-consumer-timeout, else the broker's; 0 = none. */
  private timeoutFor(entry: QueueEntry): number {
    return entry.queue.features.consumerTimeout ?? this.host.consumerTimeoutMs;
  }

  /** Arms the consumer-timeout check for the oldest delivery, if not armed already. */
  private watchAcks(): void {
    if (this.ackTimer !== null) return;
    const oldest = this.unacked.oldest();
    if (oldest === undefined) return;
    const limit = this.timeoutFor(oldest.entry);
    if (limit <= 0) return;
    this.ackTimer = setTimeout(this.checkAcks, Math.min(Math.max(oldest.deliveredAt + limit - Date.now(), 0), 0x7fffffff));
    this.ackTimer.unref();
  }

  private readonly checkAcks = (): void => {
    this.ackTimer = null;
    if (this.state !== ChannelState.Open) return;
    const oldest = this.unacked.oldest();
    if (oldest === undefined) return;
    const limit = this.timeoutFor(oldest.entry);
    if (limit > 0 && Date.now() - oldest.deliveredAt >= limit) {
      // RabbitMQ's text; the channel's deliveries go back to their queues
      this.close(
        preconditionFailed(
          `delivery acknowledgement on channel ${this.id} timed out. Timeout value used: ${limit} ms. This timeout value can be configured, see consumers doc guide to learn more`,
        ),
      );
      return;
    }
    this.watchAcks();
  };

  /** Gives everything back: consumers cancelled, unacked deliveries requeued. Idempotent. */
  release(): void {
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    this.content.reset();
    for (const consumer of this.consumers.values()) consumer.queue.removeConsumer(consumer);
    this.consumers.clear();
    this.unacked.takeAll(requeueEntry);
    this.tx = null;
  }
}

/** Names the method in an expected error; unexpected ones go up as they are, to be logged. */
function blame(error: unknown, methodId: number): unknown {
  return isUnexpected(error) ? error : toAmqpError(error, methodId);
}

function settleEntry(entry: QueueEntry, ack: boolean, requeue: boolean): void {
  if (entry.state !== EntryState.Unacked) return;
  if (ack) entry.queue.ack(entry);
  else entry.queue.reject(entry, requeue);
}

function requeueEntry(entry: QueueEntry): void {
  settleEntry(entry, false, true);
}
