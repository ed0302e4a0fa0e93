import { BeforeApplicationShutdown, DynamicModule, Inject, Injectable, Module, OnApplicationBootstrap } from '@nestjs/common';
import { APP_LOGGER, Logger } from '#observability';
import { JobService } from './domain/job-service';
import { JobsHttpServer } from './http/jobs-http-server';
import { JOBS_OPTIONS, JobsOptions } from './jobs-options';

/** Owns the job API listener: started with the application, closed before the store. */
@Injectable()
export class JobsHttpService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly server: JobsHttpServer;

  constructor(
    @Inject(JobService) jobs: JobService,
    @Inject(JOBS_OPTIONS) options: JobsOptions,
    @Inject(APP_LOGGER) logger: Logger,
  ) {
    this.server = new JobsHttpServer(jobs, options, logger.child({ component: 'jobs' }));
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
