import { BadRequestException, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Optional, Param, Query, UseGuards } from '@nestjs/common';
import type { UserDefinition } from '#core';
import { JobService } from '#jobs';
import { ManagementAuthorization } from '../authz/management-authorization';
import { CurrentUser } from '../authz/requires.decorator';
import { BasicAuthGuard } from '../http/basic-auth.guard';
import type { LaneDto, LaneJobsDto } from '../dto';
import { rate } from '../views/rabbit-views';

/**
 * The job door's own views in the management API, through its public service: job lanes
 * (depths, receivers, jobs; delete one). The deliveries are in deliveries.controller.ts.
 *
 * RabbitMQ has no such routes; they are authorized as the queue routes they resemble. A job lane
 * is the queue `${JOBS_QUEUE_PREFIX}<lane>` of JOBS_VHOST, the deliveries live in queues of
 * DISPATCH_VHOST. Seeing lanes and deliveries needs access to that vhost (as listing its queues);
 * a lane's jobs show their bodies, which is reading them (read on the lane's queue, as getting
 * messages); deleting a job takes it off its lane as receiving it does (read on the lane's queue).
 */
/** The most jobs one page of a lane shows (their bodies are in the answer). */
const MAX_JOBS_PAGE = 500;

@Controller('api')
@UseGuards(BasicAuthGuard)
export class DoorsController {
  constructor(
    @Inject(ManagementAuthorization) private readonly authz: ManagementAuthorization,
    @Optional() @Inject(JobService) private readonly jobs?: JobService,
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
  async laneJobs(@CurrentUser() user: UserDefinition, @Param('lane') lane: string, @Query('page') pageParam?: string, @Query('page_size') sizeParam?: string): Promise<LaneJobsDto> {
    const service = this.requireJobs();
    const vhost = service.options.vhost;
    this.authz.requireVhost(user, vhost);
    const page = pageParam === undefined ? 1 : Number(pageParam);
    const pageSize = sizeParam === undefined ? 100 : Number(sizeParam);
    if (!Number.isInteger(page) || page < 1) throw new BadRequestException('page must be a positive integer');
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_JOBS_PAGE) throw new BadRequestException(`page_size must be 1 to ${MAX_JOBS_PAGE}`);
    if (!service.lanes.list().some((l) => l.lane === lane)) throw new NotFoundException('Not Found');
    this.authz.channel(user, vhost).requireRead(service.lanes.queueName(lane));
    const listed = await service.listLaneJobs(lane, (page - 1) * pageSize, pageSize);
    if (listed === undefined) throw new NotFoundException('Not Found');
    return { lane, queue: service.lanes.queueName(lane), vhost, jobs: listed.jobs, page, page_size: pageSize, page_count: Math.max(1, Math.ceil(listed.total / pageSize)), total_count: listed.total };
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

  private requireJobs(): JobService {
    if (this.jobs === undefined) throw new NotFoundException('the job API is not running');
    return this.jobs;
  }
}
