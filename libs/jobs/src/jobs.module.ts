import { BeforeApplicationShutdown, DynamicModule, Inject, Injectable, Module, OnApplicationBootstrap } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { Broker } from '#core';
import { APP_LOGGER, Logger, MetricsService } from '#observability';
import { JobService } from './domain/job-service';
import { JobsHttpServer } from './http/jobs-http-server';
import { JOBS_OPTIONS, JobsOptions } from './jobs-options';

/** Owns the job API listener: started with the application, closed before the store. */
@Injectable()
export class JobsHttpService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly server: JobsHttpServer;

  constructor(
    @Inject(Broker) broker: Broker,
    @Inject(JobService) jobs: JobService,
    @Inject(JOBS_OPTIONS) options: JobsOptions,
    @Inject(APP_LOGGER) logger: Logger,
    @Inject(MetricsService) metrics: MetricsService,
  ) {
    this.server = new JobsHttpServer(broker, jobs, options, logger.child({ component: 'jobs' }));
    const registers = [metrics.registry];
    new Gauge({
      name: 'broker_job_lane_queued',
      help: 'Jobs queued per lane (ready and delayed)',
      labelNames: ['lane'],
      registers,
      collect() {
        this.reset();
        for (const [lane, queued] of Object.entries(jobs.status().queued)) this.set({ lane }, queued);
      },
    });
    new Gauge({
      name: 'broker_job_lane_idle_receivers',
      help: 'Blocked receivers waiting per lane',
      labelNames: ['lane'],
      registers,
      collect() {
        this.reset();
        for (const [lane, idle] of Object.entries(jobs.status().idle)) this.set({ lane }, idle);
      },
    });
    new Counter({
      name: 'broker_job_lane_scheduled_total',
      help: 'Jobs scheduled per lane (duplicates by idempotency key not counted)',
      labelNames: ['lane'],
      registers,
      collect() {
        this.reset();
        for (const [lane, count] of jobs.counts.scheduledCounts()) this.inc({ lane }, count);
      },
    });
    new Counter({
      name: 'broker_job_lane_received_total',
      help: 'Jobs handed to receivers per lane (the answer carrying the job was written)',
      labelNames: ['lane'],
      registers,
      collect() {
        this.reset();
        for (const [lane, count] of jobs.counts.receivedCounts()) this.inc({ lane }, count);
      },
    });
    new Gauge({
      name: 'broker_job_leases',
      help: 'Jobs received with ack and not yet acknowledged',
      registers,
      collect() {
        this.set(jobs.leases.size);
      },
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.server.listen();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.server.close();
  }
}

@Module({})
export class JobsModule {
  static forRoot(options: JobsOptions): DynamicModule {
    return {
      module: JobsModule,
      // global: the management layer shows the lanes through JobService
      global: true,
      providers: [{ provide: JOBS_OPTIONS, useValue: options }, JobService, JobsHttpService],
      exports: [JobService, JobsHttpService],
    };
  }
}
