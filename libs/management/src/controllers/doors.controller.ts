import { Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Optional, Param, Post, Query, UseGuards } from '@nestjs/common';
import { DeliveryHttpService, DeliveryState, deliveryView } from '#delivery';
import { JobService } from '#jobs';
import { BasicAuthGuard } from '../http/basic-auth.guard';
import { rate } from '../views/rabbit-views';

/**
 * The doors' own views in the management API, through their public services: job lanes
 * (depths, receivers, jobs; delete one) and deliveries (counts by state, dead letters; replay).
 */
@Controller('api')
@UseGuards(BasicAuthGuard)
export class DoorsController {
  constructor(
    @Optional() @Inject(JobService) private readonly jobs?: JobService,
    @Optional() @Inject(DeliveryHttpService) private readonly deliveries?: DeliveryHttpService,
  ) {}

  @Get('jobs/lanes')
  lanes(): unknown {
    const jobs = this.requireJobs();
    const { idle } = jobs.status();
    return jobs.lanes.list().map(({ lane, queue }) => {
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
  async laneJobs(@Param('lane') lane: string): Promise<unknown> {
    const all = await this.requireJobs().listJobs();
    const jobs = all[lane];
    if (jobs === undefined) throw new NotFoundException('Not Found');
    return { lane, jobs };
  }

  @Delete('jobs/:jobNum')
  @HttpCode(204)
  async deleteJob(@Param('jobNum') jobNum: string): Promise<void> {
    const n = Number(jobNum);
    if (!Number.isInteger(n) || n < 1) throw new NotFoundException('Not Found');
    try {
      await this.requireJobs().deleteJob(n);
    } catch {
      throw new NotFoundException(`job ${n} not found`);
    }
  }

  @Get('deliveries')
  deliveryOverview(@Query('state') state?: string, @Query('limit') limit?: string): unknown {
    const service = this.requireDeliveries().service;
    const page = service.list(state === undefined ? {} : { state: state as DeliveryState }, 0, Math.min(Number(limit ?? 100) || 100, 1000));
    return { counts: service.index.counts(), sending: service.activeSends, deliveries: page.map(deliveryView) };
  }

  @Post('deliveries/:uuid/replay')
  @HttpCode(200)
  async replay(@Param('uuid') uuid: string): Promise<unknown> {
    return { replayed: await this.requireDeliveries().service.replay({ id: uuid }) };
  }

  @Post('deliveries-replay')
  @HttpCode(200)
  async replayAll(@Body() body?: { host?: string }): Promise<unknown> {
    return { replayed: await this.requireDeliveries().service.replay(body?.host === undefined ? {} : { host: body.host }) };
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
