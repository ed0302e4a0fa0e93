import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post, Put, Query, Res, UseGuards } from '@nestjs/common';
import { IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsString, Max, Min } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { BindingSnapshot, FieldTable, Message, MessageProperties, QueueEntry } from '#core';
import { BasicAuthGuard } from '../http/basic-auth.guard';
import { ToBoolean, ToNumber } from '../http/coerce';
import { ListQuery, paged } from '../http/pagination';
import { publishProperties } from '../http/publish-properties';
import { RabbitBody } from '../http/rabbit-body.pipe';
import { ManagementService } from '../management.service';
import { bindingView, exchangeView, jsonOf, propertiesKey } from '../views/rabbit-views';

export class ExchangeBody {
  @IsString() type!: string;
  @IsOptional() @ToBoolean() @IsBoolean() durable?: boolean;
  @IsOptional() @ToBoolean() @IsBoolean() auto_delete?: boolean;
  @IsOptional() @ToBoolean() @IsBoolean() internal?: boolean;
  @IsOptional() @IsObject() arguments?: Record<string, unknown>;
}

export class QueueBody {
  @IsOptional() @ToBoolean() @IsBoolean() durable?: boolean;
  @IsOptional() @ToBoolean() @IsBoolean() auto_delete?: boolean;
  @IsOptional() @IsObject() arguments?: Record<string, unknown>;
}

export class PublishBody {
  @IsString() routing_key!: string;
  @IsString() payload!: string;
  @IsIn(['string', 'base64']) payload_encoding!: 'string' | 'base64';
  @IsOptional() @IsObject() properties?: Record<string, unknown>;
}

export class GetBody {
  @ToNumber() @IsInt() @Min(1) @Max(10_000) count!: number;
  @IsIn(['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false']) ackmode!: string;
  @IsOptional() @IsIn(['auto', 'base64']) encoding?: 'auto' | 'base64';
  @IsOptional() @ToNumber() @IsInt() @Min(1) truncate?: number;
}

export class BindingBody {
  @IsOptional() @IsString() routing_key?: string;
  @IsOptional() @IsObject() arguments?: Record<string, unknown>;
}

/** JSON arguments as an AMQP field table (numbers that are integers stay integers). */
const argumentsOf = (args: Record<string, unknown> | undefined): FieldTable => (args ?? {}) as FieldTable;

/** The core's message properties in RabbitMQ's JSON. */
function propertiesJson(p: MessageProperties): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const map: [keyof MessageProperties, string][] = [
    ['contentType', 'content_type'],
    ['contentEncoding', 'content_encoding'],
    ['deliveryMode', 'delivery_mode'],
    ['priority', 'priority'],
    ['correlationId', 'correlation_id'],
    ['replyTo', 'reply_to'],
    ['expiration', 'expiration'],
    ['messageId', 'message_id'],
    ['timestamp', 'timestamp'],
    ['type', 'type'],
    ['userId', 'user_id'],
    ['appId', 'app_id'],
  ];
  for (const [field, key] of map) if (p[field] !== undefined) out[key] = p[field];
  if (p.headers !== undefined) out.headers = jsonOf(p.headers);
  return out;
}

/** Exchanges, queues and bindings, as RabbitMQ's /api/exchanges, /api/queues, /api/bindings. */
@Controller('api')
@UseGuards(BasicAuthGuard)
export class TopologyController {
  constructor(@Inject(ManagementService) private readonly m: ManagementService) {}

  // ---- exchanges -------------------------------------------------------------------------------

  @Get('exchanges')
  exchanges(@Query() query: ListQuery): unknown {
    return paged(this.m.vhostNames().flatMap((v) => this.m.vhost(v).exchangeSnapshots().map(exchangeView)), query);
  }

  @Get('exchanges/:vhost')
  vhostExchanges(@Param('vhost') vhost: string, @Query() query: ListQuery): unknown {
    return paged(this.m.vhost(vhost).exchangeSnapshots().map(exchangeView), query);
  }

  @Get('exchanges/:vhost/:name')
  exchange(@Param('vhost') vhost: string, @Param('name') rawName: string): unknown {
    const name = rawName === 'amq.default' ? '' : rawName;
    const found = this.m.vhost(vhost).exchangeSnapshots().find((e) => e.name === name);
    if (found === undefined) throw new NotFoundException('Not Found');
    return exchangeView(found);
  }

  @Put('exchanges/:vhost/:name')
  putExchange(@Param('vhost') vhost: string, @Param('name') name: string, @Body(RabbitBody) body: ExchangeBody, @Res() reply: FastifyReply): void {
    const host = this.m.vhost(vhost);
    const existed = host.findExchange(name) !== undefined;
    host.declareExchange({ name, type: body.type, durable: body.durable ?? true, autoDelete: body.auto_delete ?? false, internal: body.internal ?? false, arguments: argumentsOf(body.arguments) });
    void reply.code(existed ? 204 : 201).send();
  }

  @Delete('exchanges/:vhost/:name')
  @HttpCode(204)
  deleteExchange(@Param('vhost') vhost: string, @Param('name') name: string, @Query('if-unused') ifUnused?: string): void {
    const host = this.m.vhost(vhost);
    if (host.findExchange(name) === undefined) throw new NotFoundException('Not Found');
    host.deleteExchange(name, ifUnused === 'true');
  }

  @Post('exchanges/:vhost/:name/publish')
  @HttpCode(200)
  async publish(@Param('vhost') vhost: string, @Param('name') name: string, @Body(RabbitBody) body: PublishBody): Promise<unknown> {
    const payload = body.payload_encoding === 'base64' ? Buffer.from(body.payload, 'base64') : Buffer.from(body.payload, 'utf8');
    const exchange = name === 'amq.default' ? '' : name;
    const outcome = this.m.vhost(vhost).publish(exchange, new Message(exchange, body.routing_key, publishProperties(body.properties), null, payload));
    const routed = outcome.routed > 0;
    await this.m.broker.whenDurable(outcome.commitToken);
    return { routed };
  }

  @Get('exchanges/:vhost/:name/bindings/source')
  bindingsFrom(@Param('vhost') vhost: string, @Param('name') name: string): unknown {
    this.requireExchange(vhost, name);
    return this.bindingsOf(vhost, (b) => b.source === name && name !== '').map(bindingView);
  }

  @Get('exchanges/:vhost/:name/bindings/destination')
  bindingsTo(@Param('vhost') vhost: string, @Param('name') name: string): unknown {
    this.requireExchange(vhost, name);
    return this.bindingsOf(vhost, (b) => b.destinationKind === 'exchange' && b.destination === name).map(bindingView);
  }

  // ---- queues ----------------------------------------------------------------------------------

  @Get('queues')
  queues(@Query() query: ListQuery): unknown {
    return paged(this.m.queueViews(), query);
  }

  @Get('queues/:vhost')
  vhostQueues(@Param('vhost') vhost: string, @Query() query: ListQuery): unknown {
    this.m.vhost(vhost);
    return paged(this.m.queueViews(vhost), query);
  }

  @Get('queues/:vhost/:name')
  queue(@Param('vhost') vhost: string, @Param('name') name: string): unknown {
    const queue = this.m.vhost(vhost).findQueue(name);
    if (queue === undefined) throw new NotFoundException('Not Found');
    return { ...this.m.queueView(queue.snapshot()), consumer_details: this.m.consumerViews(vhost).filter((c) => (c.queue as { name: string }).name === name) };
  }

  @Put('queues/:vhost/:name')
  putQueue(@Param('vhost') vhost: string, @Param('name') name: string, @Body(RabbitBody) body: QueueBody, @Res() reply: FastifyReply): void {
    const host = this.m.vhost(vhost);
    const existed = host.findQueue(name) !== undefined;
    host.declareQueue({ name, durable: body.durable ?? true, autoDelete: body.auto_delete ?? false, arguments: argumentsOf(body.arguments) });
    void reply.code(existed ? 204 : 201).send();
  }

  @Delete('queues/:vhost/:name')
  @HttpCode(204)
  deleteQueue(@Param('vhost') vhost: string, @Param('name') name: string, @Query('if-empty') ifEmpty?: string, @Query('if-unused') ifUnused?: string): void {
    const host = this.m.vhost(vhost);
    if (host.findQueue(name) === undefined) throw new NotFoundException('Not Found');
    host.deleteQueue(name, { ifEmpty: ifEmpty === 'true', ifUnused: ifUnused === 'true' });
  }

  @Delete('queues/:vhost/:name/contents')
  @HttpCode(204)
  purge(@Param('vhost') vhost: string, @Param('name') name: string): void {
    if (this.m.vhost(vhost).findQueue(name) === undefined) throw new NotFoundException('Not Found');
    this.m.vhost(vhost).purgeQueue(name);
  }

  @Post('queues/:vhost/:name/get')
  @HttpCode(200)
  async get(@Param('vhost') vhost: string, @Param('name') name: string, @Body(RabbitBody) body: GetBody): Promise<unknown> {
    const queue = this.m.vhost(vhost).getQueue(name);
    const taken: QueueEntry[] = [];
    for (let i = 0; i < body.count; i++) {
      const entry = queue.fetch(false);
      if (entry === undefined) break;
      taken.push(entry);
    }
    const remaining = queue.messageCount;
    const out = taken.map((entry, i) => {
      const payload = entry.message.body;
      const text = payload.toString('utf8');
      const printable = body.encoding !== 'base64' && Buffer.from(text, 'utf8').equals(payload);
      const shown = printable ? text : payload.toString('base64');
      return {
        payload_bytes: payload.length,
        redelivered: entry.redelivered,
        exchange: entry.message.exchange,
        routing_key: entry.message.routingKey,
        message_count: remaining + taken.length - i - 1,
        properties: propertiesJson(entry.message.properties),
        payload: body.truncate !== undefined ? shown.slice(0, body.truncate) : shown,
        payload_encoding: printable ? 'string' : 'base64',
      };
    });
    const requeue = body.ackmode.endsWith('requeue_true');
    for (const entry of taken) {
      if (requeue) queue.reject(entry, true);
      else queue.ack(entry);
    }
    await this.m.broker.whenDurable();
    return out;
  }

  @Get('queues/:vhost/:name/bindings')
  queueBindings(@Param('vhost') vhost: string, @Param('name') name: string): unknown {
    if (this.m.vhost(vhost).findQueue(name) === undefined) throw new NotFoundException('Not Found');
    return this.bindingsOf(vhost, (b) => b.destinationKind === 'queue' && b.destination === name).map(bindingView);
  }

  // ---- bindings --------------------------------------------------------------------------------

  @Get('bindings')
  bindings(): unknown {
    return this.m.vhostNames().flatMap((v) => this.bindingsOf(v, () => true).map(bindingView));
  }

  @Get('bindings/:vhost')
  vhostBindings(@Param('vhost') vhost: string): unknown {
    return this.bindingsOf(vhost, () => true).map(bindingView);
  }

  @Get('bindings/:vhost/e/:source/:kind/:destination')
  between(@Param('vhost') vhost: string, @Param('source') source: string, @Param('kind') kind: string, @Param('destination') destination: string): unknown {
    const destinationKind = kindOf(kind);
    return this.bindingsOf(vhost, (b) => b.source === source && b.destinationKind === destinationKind && b.destination === destination).map(bindingView);
  }

  @Post('bindings/:vhost/e/:source/:kind/:destination')
  bind(
    @Param('vhost') vhost: string,
    @Param('source') source: string,
    @Param('kind') kind: string,
    @Param('destination') destination: string,
    @Body(RabbitBody) body: BindingBody,
    @Res() reply: FastifyReply,
  ): void {
    const destinationKind = kindOf(kind);
    const routingKey = body.routing_key ?? '';
    const args = argumentsOf(body.arguments);
    this.m.vhost(vhost).bind(destinationKind, destination, source, routingKey, args);
    const location = `${encodeURIComponent(source)}/${kind}/${encodeURIComponent(destination)}/${propertiesKey(routingKey, args)}`;
    void reply.code(201).header('location', location).send();
  }

  @Get('bindings/:vhost/e/:source/:kind/:destination/:props')
  binding(
    @Param('vhost') vhost: string,
    @Param('source') source: string,
    @Param('kind') kind: string,
    @Param('destination') destination: string,
    @Param('props') props: string,
  ): unknown {
    return bindingView(this.findBinding(vhost, source, kindOf(kind), destination, props));
  }

  @Delete('bindings/:vhost/e/:source/:kind/:destination/:props')
  @HttpCode(204)
  unbind(
    @Param('vhost') vhost: string,
    @Param('source') source: string,
    @Param('kind') kind: string,
    @Param('destination') destination: string,
    @Param('props') props: string,
  ): void {
    const binding = this.findBinding(vhost, source, kindOf(kind), destination, props);
    this.m.vhost(vhost).unbind(binding.destinationKind, binding.destination, binding.source, binding.routingKey, binding.arguments);
  }

  private bindingsOf(vhost: string, wanted: (b: BindingSnapshot) => boolean): BindingSnapshot[] {
    return this.m.vhost(vhost).bindingSnapshots().filter(wanted);
  }

  private findBinding(vhost: string, source: string, kind: 'queue' | 'exchange', destination: string, props: string): BindingSnapshot {
    // the path arrives decoded once; properties keys are compared in their encoded form
    const wanted = [props, encodeURIComponent(props)];
    const found = this.bindingsOf(vhost, (b) => b.source === source && b.destinationKind === kind && b.destination === destination).find((b) =>
      wanted.includes(propertiesKey(b.routingKey, b.arguments)),
    );
    if (found === undefined) throw new NotFoundException('Not Found');
    return found;
  }

  private requireExchange(vhost: string, name: string): void {
    if (this.m.vhost(vhost).findExchange(name) === undefined) throw new NotFoundException('Not Found');
  }
}

function kindOf(kind: string): 'queue' | 'exchange' {
  if (kind === 'q') return 'queue';
  if (kind === 'e') return 'exchange';
  throw new BadRequestException(`destination type must be q or e, not '${kind}'`);
}
