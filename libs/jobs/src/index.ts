export * from './jobs.module';
export * from './jobs-options';
export { JobService } from './domain/job-service';
export type { JobView } from './domain/job-message';
