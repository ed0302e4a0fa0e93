import { Body, ConflictException, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Optional, Param, Post, Query, UseGuards } from '@nestjs/common';
import type { UserDefinition } from '#core';
import { DeliveryHttpService, DeliveryJson, DeliveryRequestError, deliveryView } from '#delivery';
import { ManagementAuthorization } from '../authz/management-authorization';
import { CurrentUser } from '../authz/requires.decorator';
import { BasicAuthGuard } from '../http/basic-auth.guard';
import { DELIVERY_PAGE_STATES, deliveryQueryOf, pageStateOf, replaySelectionOf } from '../http/delivery-query';
import type { DeliveryCircuitDto, DeliveryOverviewDto, DeliveryPageState, ReplayResultDto } from '../dto';

/**
 * The delivery door's deliveries in the management API, through its public service: counts by
 * state, a filtered page of them, one with its attempts, the hosts' circuits; cancel, replay one,
 * replay those named or all dead ones (of a host).
 *
 * RabbitMQ has no such routes; they are authorized as what they resemble. The deliveries live in
 * queues of DISPATCH_VHOST: seeing them needs access to that vhost (as listing its queues).
 * Replaying and cancelling change what the door sends — what publishing into the delivery
 * exchange (DISPATCH_AMQP_EXCHANGE) does over AMQP — so they need that exchange's write permission.
 */
@Controller('api')
@UseGuards(BasicAuthGuard)
export class DeliveriesController {
  constructor(
    @Inject(ManagementAuthorization) private readonly authz: ManagementAuthorization,
    @Optional() @Inject(DeliveryHttpService) private readonly deliveries?: DeliveryHttpService,
  ) {}

  @Get('deliveries')
  async overview(@CurrentUser() user: UserDefinition, @Query() query: Record<string, string | undefined>): Promise<DeliveryOverviewDto> {
    const deliveries = this.requireReading(user);
    const wanted = deliveryQueryOf(query);
    const service = deliveries.service;
    // one pass over what the door holds: the counts and the filtered list agree
    const listed = service.list(wanted.host === undefined ? {} : { host: wanted.host }, 0, Number.MAX_SAFE_INTEGER);
    const records = listed instanceof Promise ? await listed : listed;
    const counts = Object.fromEntries(DELIVERY_PAGE_STATES.map((s) => [s, 0])) as Record<DeliveryPageState, number>;
    const selected = [];
    for (const record of records) {
      const state = pageStateOf(record);
      counts[state]++;
      if (wanted.state === undefined || wanted.state === state) selected.push(record);
    }
    // a page beyond the last (deliveries finished since the page was drawn) shows the last one
    const pageCount = Math.max(1, Math.ceil(selected.length / wanted.pageSize));
    const page = Math.min(wanted.page, pageCount);
    return {
      counts,
      sending: service.activeSends,
      deliveries: selected.slice((page - 1) * wanted.pageSize, page * wanted.pageSize).map(deliveryView),
      page,
      page_size: wanted.pageSize,
      page_count: pageCount,
      filtered_count: selected.length,
      circuits: this.circuits(deliveries),
    };
  }

  @Get('deliveries/:uuid')
  async show(@CurrentUser() user: UserDefinition, @Param('uuid') uuid: string): Promise<DeliveryJson> {
    const deliveries = this.requireReading(user);
    const record = await deliveries.service.lookup(uuid);
    if (record === undefined) throw new NotFoundException(`no delivery '${uuid}'`);
    return deliveryView(record);
  }

  @Get('delivery-circuits')
  circuitList(@CurrentUser() user: UserDefinition): DeliveryCircuitDto[] {
    return this.circuits(this.requireReading(user));
  }

  @Delete('deliveries/:uuid')
  @HttpCode(200)
  async cancel(@CurrentUser() user: UserDefinition, @Param('uuid') uuid: string): Promise<DeliveryJson> {
    const deliveries = this.requireSending(user);
    return deliveryView(await answered(() => deliveries.service.cancel(uuid)));
  }

  @Post('deliveries/:uuid/replay')
  @HttpCode(200)
  async replay(@CurrentUser() user: UserDefinition, @Param('uuid') uuid: string): Promise<ReplayResultDto> {
    const deliveries = this.requireSending(user);
    return { replayed: await answered(() => deliveries.service.replay({ id: uuid })) };
  }

  /** `{}`: every dead delivery; `{host}`: those of one host; `{uuids: […]}`: the ones named, each on its own. */
  @Post('deliveries-replay')
  @HttpCode(200)
  async replayMany(@CurrentUser() user: UserDefinition, @Body() body?: unknown): Promise<ReplayResultDto> {
    const deliveries = this.requireSending(user);
    const selection = replaySelectionOf(body);
    if (!('uuids' in selection)) return { replayed: await deliveries.service.replay(selection.host === undefined ? {} : { host: selection.host }) };
    let replayed = 0;
    const notReplayed: { uuid: string; reason: string }[] = [];
    for (const uuid of selection.uuids) {
      try {
        replayed += await deliveries.service.replay({ id: uuid });
      } catch (error) {
        if (!(error instanceof DeliveryRequestError)) throw error;
        notReplayed.push({ uuid, reason: error.message });
      }
    }
    return { replayed, not_replayed: notReplayed };
  }

  private circuits(deliveries: DeliveryHttpService): DeliveryCircuitDto[] {
    return deliveries.service.circuit.hostsWithFailures().map((c) => ({
      host: c.host,
      failures: c.failures,
      open: c.open,
      ...(c.nextProbeAt !== undefined ? { next_probe_at: new Date(c.nextProbeAt).toISOString() } : {}),
      probing: c.probing,
    }));
  }

  private requireReading(user: UserDefinition): DeliveryHttpService {
    const deliveries = this.requireDeliveries();
    this.authz.requireVhost(user, deliveries.options.vhost);
    return deliveries;
  }

  private requireSending(user: UserDefinition): DeliveryHttpService {
    const deliveries = this.requireDeliveries();
    const { vhost, amqpExchange } = deliveries.options;
    this.authz.requireVhost(user, vhost);
    this.authz.channel(user, vhost).requireExplained('write', 'exchange', amqpExchange);
    return deliveries;
  }

  private requireDeliveries(): DeliveryHttpService {
    if (this.deliveries === undefined) throw new NotFoundException('the delivery API is not running');
    return this.deliveries;
  }
}

/** The delivery door's refusals (unknown: 404, not in a state for it: 409) as the management API's. */
async function answered<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof DeliveryRequestError) {
      if (error.status === 404) throw new NotFoundException(error.message);
      if (error.status === 409) throw new ConflictException(error.message);
    }
    throw error;
  }
}
