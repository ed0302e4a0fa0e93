import { Body, ConflictException, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Optional, Param, Post, Query, UseGuards } from '@nestjs/common';
import type { UserDefinition } from '#core';
import { DeliveryHttpService, DeliveryState, deliveryView } from '#delivery';
import { JobService } from '#jobs';
import { ManagementAuthorization } from '../authz/management-authorization';
import { CurrentUser } from '../authz/requires.decorator';
import { BasicAuthGuard } from '../http/basic-auth.guard';
import type { DeliveryOverviewDto, LaneDto, LaneJobsDto, ReplayResultDto } from '../dto';
import { rate } from '../views/rabbit-views';

/**
 * The doors' own views in the management API, through their public services: job lanes
 * (depths, receivers, jobs; delete one) and deliveries (counts by state, dead letters; replay).
 *
 * RabbitMQ has no such routes; they are authorized as the queue routes they resemble. A job lane
 * is the queue `${JOBS_QUEUE_PREFIX}<lane>` of JOBS_VHOST, the deliveries live in queues of
 * DISPATCH_VHOST. Seeing lanes and deliveries needs access to that vhost (as listing its queues);
 * a lane's jobs show their bodies, which is reading them (read on the lane's queue, as getting
 * messages); deleting a job takes it off its lane as receiving it does (read on the lane's queue).
 */
@Controller('api')
@UseGuards(BasicAuthGuard)
export class DoorsController {
  constructor(
    @Inject(ManagementAuthorization) private readonly authz: ManagementAuthorization,
    @Optional() @Inject(JobService) private readonly jobs?: JobService,
    @Optional() @Inject(DeliveryHttpService) private readonly deliveries?: DeliveryHttpService,
  ) {}

  @Get('jobs/lanes')
  lanes(@CurrentUser() user: UserDefinition): LaneDto[] {
    const jobs = this.requireJobs();
    this.authz.requireVhost(user, jobs.options.vhost);
    const { idle } = jobs.status();
    return jobs.lanes.list().map(({ lane, queue }): LaneDto => {
      const q = queue?.snapshot();
      return {
        lane,
        queue: queue?.name ?? jobs.lanes.queueName(lane),
        vhost: jobs.options.vhost,
        queued: q === undefined ? 0 : q.messagesReady + q.messagesDelayed,
        ready: q?.messagesReady ?? 0,
        delayed: q?.messagesDelayed ?? 0,
        leased_or_in_flight: q?.messagesUnacknowledged ?? 0,
        idle_receivers: idle[lane] ?? 0,
        scheduled: q?.stats.published ?? 0,
        scheduled_details: rate(q?.stats.publishRate ?? 0),
        received: q?.stats.delivered ?? 0,
        received_details: rate(q?.stats.deliverRate ?? 0),
      };
    });
  }

  @Get('jobs/lanes/:lane')
  async laneJobs(@CurrentUser() user: UserDefinition, @Param('lane') lane: string): Promise<LaneJobsDto> {
    const service = this.requireJobs();
    const vhost = service.options.vhost;
    this.authz.requireVhost(user, vhost);
    const all = await service.listJobs();
    const jobs = all[lane];
    if (jobs === undefined) throw new NotFoundException('Not Found');
    this.authz.channel(user, vhost).requireRead(service.lanes.queueName(lane));
    return { lane, jobs };
  }

  @Delete('jobs/:jobNum')
  @HttpCode(204)
  async deleteJob(@CurrentUser() user: UserDefinition, @Param('jobNum') jobNum: string): Promise<void> {
    const service = this.requireJobs();
    const vhost = service.options.vhost;
    this.authz.requireVhost(user, vhost);
    const n = Number(jobNum);
    if (!Number.isInteger(n) || n < 1) throw new NotFoundException('Not Found');
    const found = await service.findJob(n);
    if (found === undefined) throw new NotFoundException(`job ${n} not found`);
    this.authz.channel(user, vhost).requireExplained('read', 'queue', service.lanes.queueName(found.lane));
    try {
      await service.deleteJob(n);
    } catch {
      throw new NotFoundException(`job ${n} not found`);
    }
  }

  @Get('deliveries')
  async deliveryOverview(@CurrentUser() user: UserDefinition, @Query('state') state?: string, @Query('limit') limit?: string): Promise<DeliveryOverviewDto> {
    const deliveries = this.requireDeliveries();
    this.authz.requireVhost(user, deliveries.options.vhost);
    const service = deliveries.service;
    const page = await service.list(state === undefined ? {} : { state: state as DeliveryState }, 0, Math.min(Number(limit ?? 100) || 100, 1000));
    return { counts: service.index.counts(), sending: service.activeSends, deliveries: page.map(deliveryView) };
  }

  @Post('deliveries/:uuid/replay')
  @HttpCode(200)
  async replay(@CurrentUser() user: UserDefinition, @Param('uuid') uuid: string): Promise<ReplayResultDto> {
    const deliveries = this.requireReplay(user);
    // answered here: the delivery door's own errors are not the management API's
    const record = await deliveries.service.lookup(uuid);
    if (record === undefined) throw new NotFoundException(`no delivery '${uuid}'`);
    if (record.state !== 'dead') throw new ConflictException(`delivery '${uuid}' is ${record.state}, only dead deliveries are replayed`);
    return { replayed: await deliveries.service.replay({ id: uuid }) };
  }

  @Post('deliveries-replay')
  @HttpCode(200)
  async replayAll(@CurrentUser() user: UserDefinition, @Body() body?: { host?: string }): Promise<ReplayResultDto> {
    const deliveries = this.requireReplay(user);
    return { replayed: await deliveries.service.replay(body?.host === undefined ? {} : { host: body.host }) };
  }

  /**
   * Replaying sends dead deliveries again: what publishing a new delivery into the delivery
   * exchange (DISPATCH_AMQP_EXCHANGE) does over AMQP, so it needs that exchange's write
   * permission. Not configure: a replay changes no queue or exchange, it only makes the door send.
   */
  private requireReplay(user: UserDefinition): DeliveryHttpService {
    const deliveries = this.requireDeliveries();
    const { vhost, amqpExchange } = deliveries.options;
    this.authz.requireVhost(user, vhost);
    this.authz.channel(user, vhost).requireExplained('write', 'exchange', amqpExchange);
    return deliveries;
  }

  private requireJobs(): JobService {
    if (this.jobs === undefined) throw new NotFoundException('the job API is not running');
    return this.jobs;
  }

  private requireDeliveries(): DeliveryHttpService {
    if (this.deliveries === undefined) throw new NotFoundException('the delivery API is not running');
    return this.deliveries;
  }
}
