import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post, Put, Query, Res, UseGuards } from '@nestjs/common';
import { IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsString, Max, Min } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { BindingSnapshot, FieldTable, Message, QueueEntry, renderedProperties, UserDefinition } from '#core';
import { ManagementAuthorization } from '../authz/management-authorization';
import { CurrentUser } from '../authz/requires.decorator';
import { BasicAuthGuard } from '../http/basic-auth.guard';
import { ToBoolean, ToNumber } from '../http/coerce';
import { ListQuery, paged } from '../http/pagination';
import { publishProperties } from '../http/publish-properties';
import { RabbitBody } from '../http/rabbit-body.pipe';
import { HistoryQuery, historyWindows, SampleWindow, withSamples } from '../rates/history-query';
import type { QueueSeries } from '../rates/rate-sampler';
import { ManagementService } from '../management.service';
import type { BindingDto, ExchangeDto, GotMessageDto, Paged, PublishResultDto, QueueDetailDto, QueueDto } from '../dto';
import { bindingView, exchangeView, messagePropertiesView, propertiesKey } from '../views/rabbit-views';

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

/**
 * Exchanges, queues and bindings, as RabbitMQ's /api/exchanges, /api/queues, /api/bindings. Any
 * management user, in the vhosts it has permissions in (administrators: all); what RabbitMQ does
 * over an AMQP channel (declare, delete, publish, get, purge, bind) needs the AMQP permission.
 * Checks run in RabbitMQ's order: the vhost, then whether the object exists (404), then the
 * channel; publish, get and bind ask the channel first (it refuses before it looks).
 */
@Controller('api')
@UseGuards(BasicAuthGuard)
export class TopologyController {
  constructor(
    @Inject(ManagementService) private readonly m: ManagementService,
    @Inject(ManagementAuthorization) private readonly authz: ManagementAuthorization,
  ) {}

  // ---- exchanges -------------------------------------------------------------------------------

  @Get('exchanges')
  exchanges(@CurrentUser() user: UserDefinition, @Query() query: ListQuery): Paged<ExchangeDto> {
    return paged(this.listedVhosts(user).flatMap((v) => this.m.vhost(v).exchangeSnapshots().map(exchangeView)), query);
  }

  @Get('exchanges/:vhost')
  vhostExchanges(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Query() query: ListQuery): Paged<ExchangeDto> {
    this.authz.requireVhost(user, vhost);
    return paged(this.m.vhost(vhost).exchangeSnapshots().map(exchangeView), query);
  }

  @Get('exchanges/:vhost/:name')
  exchange(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Param('name') rawName: string): ExchangeDto {
    this.authz.requireVhost(user, vhost);
    const name = rawName === 'amq.default' ? '' : rawName;
    const found = this.m.vhost(vhost).exchangeSnapshots().find((e) => e.name === name);
    if (found === undefined) throw new NotFoundException('Not Found');
    return exchangeView(found);
  }

  @Put('exchanges/:vhost/:name')
  async putExchange(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Param('name') name: string, @Body(RabbitBody) body: ExchangeBody, @Res() reply: FastifyReply): Promise<void> {
    this.authz.requireVhost(user, vhost);
    const host = this.m.vhost(vhost);
    const existed = host.findExchange(name) !== undefined;
    this.authz.channel(user, vhost).requireDeclaration('exchange', name, argumentsOf(body.arguments), existed);
    host.declareExchange({ name, type: body.type, durable: body.durable ?? true, autoDelete: body.auto_delete ?? false, internal: body.internal ?? false, arguments: argumentsOf(body.arguments) });
    await this.m.broker.whenDurable();
    void reply.code(existed ? 204 : 201).send();
  }

  @Delete('exchanges/:vhost/:name')
  @HttpCode(204)
  async deleteExchange(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Param('name') name: string, @Query('if-unused') ifUnused?: string): Promise<void> {
    this.authz.requireVhost(user, vhost);
    const host = this.m.vhost(vhost);
    if (host.findExchange(name) === undefined) throw new NotFoundException('Not Found');
    this.authz.channel(user, vhost).require('configure', 'exchange', name);
    host.deleteExchange(name, ifUnused === 'true');
    await this.m.broker.whenDurable();
  }

  @Post('exchanges/:vhost/:name/publish')
  @HttpCode(200)
  async publish(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Param('name') name: string, @Body(RabbitBody) body: PublishBody): Promise<PublishResultDto> {
    this.authz.requireVhost(user, vhost);
    this.requirePublish(user, vhost, name === 'amq.default' ? '' : name, body.properties?.user_id);
    const payload = body.payload_encoding === 'base64' ? Buffer.from(body.payload, 'base64') : Buffer.from(body.payload, 'utf8');
    const exchange = name === 'amq.default' ? '' : name;
    const outcome = this.m.vhost(vhost).publish(exchange, new Message(exchange, body.routing_key, publishProperties(body.properties), null, payload));
    await this.m.broker.whenDurable(outcome.commitToken);
    // a message a queue refused (x-overflow reject-publish) is not kept there: not routed, as the one intake path answers every door
    return { routed: outcome.kind === 'routed' };
  }

  @Get('exchanges/:vhost/:name/bindings/source')
  bindingsFrom(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Param('name') name: string): BindingDto[] {
    this.authz.requireVhost(user, vhost);
    this.requireExchange(vhost, name);
    return this.bindingsOf(vhost, (b) => b.source === name && name !== '').map(bindingView);
  }

  @Get('exchanges/:vhost/:name/bindings/destination')
  bindingsTo(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Param('name') name: string): BindingDto[] {
    this.authz.requireVhost(user, vhost);
    this.requireExchange(vhost, name);
    return this.bindingsOf(vhost, (b) => b.destinationKind === 'exchange' && b.destination === name).map(bindingView);
  }

  // ---- queues ----------------------------------------------------------------------------------

  @Get('queues')
  queues(@CurrentUser() user: UserDefinition, @Query() query: ListQuery): Paged<QueueDto> {
    return paged(this.m.queueViews(this.listedVhosts(user)), query);
  }

  @Get('queues/:vhost')
  vhostQueues(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Query() query: ListQuery): Paged<QueueDto> {
    this.authz.requireVhost(user, vhost);
    this.m.vhost(vhost);
    return paged(this.m.queueViews([vhost]), query);
  }

  /** One queue; with RabbitMQ's history parameters its depths' and counters' samples too (its history is kept from then on). */
  @Get('queues/:vhost/:name')
  queue(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Param('name') name: string, @Query() query: HistoryQuery = {}): QueueDetailDto {
    this.authz.requireVhost(user, vhost);
    const { lengths, msgRates } = historyWindows(query);
    const queue = this.m.vhost(vhost).findQueue(name);
    if (queue === undefined) throw new NotFoundException('Not Found');
    const answer: QueueDetailDto = { ...this.m.queueView(queue.snapshot()), consumer_details: this.m.consumerViews(vhost).filter((c) => c.queue.name === name) };
    const now = Date.now();
    const samples = (series: QueueSeries, window: SampleWindow) => this.m.sampler.queueSamples(vhost, name, series, window, now);
    if (lengths !== null) {
      answer.messages_details = withSamples(answer.messages_details, samples('messages', lengths));
      answer.messages_ready_details = withSamples(answer.messages_ready_details, samples('messages_ready', lengths));
      answer.messages_unacknowledged_details = withSamples(answer.messages_unacknowledged_details, samples('messages_unacknowledged', lengths));
    }
    if (msgRates !== null) {
      const stats = answer.message_stats;
      stats.publish_details = withSamples(stats.publish_details, samples('publish', msgRates));
      stats.deliver_get_details = withSamples(stats.deliver_get_details, samples('deliver_get', msgRates));
      stats.ack_details = withSamples(stats.ack_details, samples('ack', msgRates));
    }
    return answer;
  }

  @Put('queues/:vhost/:name')
  async putQueue(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Param('name') name: string, @Body(RabbitBody) body: QueueBody, @Res() reply: FastifyReply): Promise<void> {
    this.authz.requireVhost(user, vhost);
    const host = this.m.vhost(vhost);
    const existed = host.findQueue(name) !== undefined;
    this.authz.channel(user, vhost).requireDeclaration('queue', name, argumentsOf(body.arguments), existed);
    host.declareQueue({ name, durable: body.durable ?? true, autoDelete: body.auto_delete ?? false, arguments: argumentsOf(body.arguments) });
    await this.m.broker.whenDurable();
    void reply.code(existed ? 204 : 201).send();
  }

  @Delete('queues/:vhost/:name')
  @HttpCode(204)
  async deleteQueue(
    @CurrentUser() user: UserDefinition,
    @Param('vhost') vhost: string,
    @Param('name') name: string,
    @Query('if-empty') ifEmpty?: string,
    @Query('if-unused') ifUnused?: string,
  ): Promise<void> {
    this.authz.requireVhost(user, vhost);
    const host = this.m.vhost(vhost);
    if (host.findQueue(name) === undefined) throw new NotFoundException('Not Found');
    this.authz.channel(user, vhost).require('configure', 'queue', name);
    host.deleteQueue(name, { ifEmpty: ifEmpty === 'true', ifUnused: ifUnused === 'true' });
    await this.m.broker.whenDurable();
  }

  @Delete('queues/:vhost/:name/contents')
  @HttpCode(204)
  purge(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Param('name') name: string): void {
    this.authz.requireVhost(user, vhost);
    if (this.m.vhost(vhost).findQueue(name) === undefined) throw new NotFoundException('Not Found');
    this.authz.channel(user, vhost).require('read', 'queue', name);
    this.m.vhost(vhost).purgeQueue(name);
  }

  @Post('queues/:vhost/:name/get')
  @HttpCode(200)
  async get(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Param('name') name: string, @Body(RabbitBody) body: GetBody): Promise<GotMessageDto[]> {
    this.authz.requireVhost(user, vhost);
    // as RabbitMQ's channel: read permission before whether the queue exists
    this.authz.channel(user, vhost).requireRead(name);
    const queue = this.m.vhost(vhost).getQueue(name);
    const taken: QueueEntry[] = [];
    for (let i = 0; i < body.count; i++) {
      const entry = queue.fetch(false);
      if (entry === undefined) break;
      taken.push(entry);
    }
    const remaining = queue.messageCount;
    const out = taken.map((entry, i): GotMessageDto => {
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
        properties: messagePropertiesView(renderedProperties(entry.message)),
        payload: body.truncate !== undefined ? shown.slice(0, body.truncate) : shown,
        payload_encoding: printable ? 'string' : 'base64',
      };
    });
    const requeue = body.ackmode.endsWith('requeue_true');
    // as RabbitMQ: reject_requeue_false is basic.reject without requeue (dead-lettered), not an ack
    const reject = body.ackmode.startsWith('reject');
    for (const entry of taken) {
      if (requeue) queue.reject(entry, true);
      else if (reject) queue.reject(entry, false);
      else queue.ack(entry);
    }
    await this.m.broker.whenDurable();
    return out;
  }

  @Get('queues/:vhost/:name/bindings')
  queueBindings(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string, @Param('name') name: string): BindingDto[] {
    this.authz.requireVhost(user, vhost);
    if (this.m.vhost(vhost).findQueue(name) === undefined) throw new NotFoundException('Not Found');
    return this.bindingsOf(vhost, (b) => b.destinationKind === 'queue' && b.destination === name).map(bindingView);
  }

  // ---- bindings --------------------------------------------------------------------------------

  @Get('bindings')
  bindings(@CurrentUser() user: UserDefinition): BindingDto[] {
    return this.listedVhosts(user).flatMap((v) => this.bindingsOf(v, () => true).map(bindingView));
  }

  @Get('bindings/:vhost')
  vhostBindings(@CurrentUser() user: UserDefinition, @Param('vhost') vhost: string): BindingDto[] {
    this.authz.requireVhost(user, vhost);
    return this.bindingsOf(vhost, () => true).map(bindingView);
  }

  @Get('bindings/:vhost/e/:source/:kind/:destination')
  between(
    @CurrentUser() user: UserDefinition,
    @Param('vhost') vhost: string,
    @Param('source') source: string,
    @Param('kind') kind: string,
    @Param('destination') destination: string,
  ): BindingDto[] {
    this.authz.requireVhost(user, vhost);
    const destinationKind = kindOf(kind);
    return this.bindingsOf(vhost, (b) => b.source === source && b.destinationKind === destinationKind && b.destination === destination).map(bindingView);
  }

  @Post('bindings/:vhost/e/:source/:kind/:destination')
  async bind(
    @CurrentUser() user: UserDefinition,
    @Param('vhost') vhost: string,
    @Param('source') source: string,
    @Param('kind') kind: string,
    @Param('destination') destination: string,
    @Body(RabbitBody) body: BindingBody,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    this.authz.requireVhost(user, vhost);
    const destinationKind = kindOf(kind);
    this.requireBindingAccess(user, vhost, source, destinationKind, destination);
    const routingKey = body.routing_key ?? '';
    const args = argumentsOf(body.arguments);
    this.m.vhost(vhost).bind(destinationKind, destination, source, routingKey, args);
    await this.m.broker.whenDurable();
    const location = `${encodeURIComponent(source)}/${kind}/${encodeURIComponent(destination)}/${propertiesKey(routingKey, args)}`;
    void reply.code(201).header('location', location).send();
  }

  @Get('bindings/:vhost/e/:source/:kind/:destination/:props')
  binding(
    @CurrentUser() user: UserDefinition,
    @Param('vhost') vhost: string,
    @Param('source') source: string,
    @Param('kind') kind: string,
    @Param('destination') destination: string,
    @Param('props') props: string,
  ): BindingDto {
    this.authz.requireVhost(user, vhost);
    return bindingView(this.findBinding(vhost, source, kindOf(kind), destination, props));
  }

  @Delete('bindings/:vhost/e/:source/:kind/:destination/:props')
  @HttpCode(204)
  async unbind(
    @CurrentUser() user: UserDefinition,
    @Param('vhost') vhost: string,
    @Param('source') source: string,
    @Param('kind') kind: string,
    @Param('destination') destination: string,
    @Param('props') props: string,
  ): Promise<void> {
    this.authz.requireVhost(user, vhost);
    const binding = this.findBinding(vhost, source, kindOf(kind), destination, props);
    this.requireBindingAccess(user, vhost, binding.source, binding.destinationKind, binding.destination);
    this.m.vhost(vhost).unbind(binding.destinationKind, binding.destination, binding.source, binding.routingKey, binding.arguments);
    await this.m.broker.whenDurable();
  }

  /** The vhosts whose objects the broker-wide lists show the user. */
  private listedVhosts(user: UserDefinition): string[] {
    return this.m.vhostNames().filter((v) => this.authz.listsResourcesOf(user, v));
  }

  /** As RabbitMQ's channel: write permission, then whether the exchange exists, then user_id. */
  private requirePublish(user: UserDefinition, vhost: string, exchange: string, userId: unknown): void {
    this.authz.channel(user, vhost).requirePublish(exchange, userId, () => this.m.vhost(vhost).findExchange(exchange) !== undefined);
  }

  /** Binding and unbinding, as over AMQP: write on the destination, read on the source. */
  private requireBindingAccess(user: UserDefinition, vhost: string, source: string, kind: 'queue' | 'exchange', destination: string): void {
    const channel = this.authz.channel(user, vhost);
    channel.require('write', kind, destination);
    channel.require('read', 'exchange', source);
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
