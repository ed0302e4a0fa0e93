import type { JobView } from '#jobs';
import type { RateDetails } from './rates.dto';

/** A job lane (GET /api/jobs/lanes): its queue's depths, waiting receivers and job rates. */
export interface LaneDto {
  lane: string;
  /** The core queue that holds the lane's jobs. */
  queue: string;
  vhost: string;
  /** Ready plus delayed. */
  queued: number;
  ready: number;
  /** Scheduled for later (run_at in the future). */
  delayed: number;
  /** Handed to a receiver and not yet done. */
  leased_or_in_flight: number;
  /** Receivers waiting on the lane now. */
  idle_receivers: number;
  scheduled: number;
  scheduled_details: RateDetails;
  received: number;
  received_details: RateDetails;
}

/** GET /api/jobs/lanes/{lane}?page=&page_size=: one page of a lane's queued jobs, in dispatch order. */
export interface LaneJobsDto {
  lane: string;
  /** The queue that holds the lane's jobs and its vhost: /api/queues/{vhost}/{queue} has its history (the lane page's charts). */
  queue: string;
  vhost: string;
  jobs: JobView[];
  page: number;
  page_size: number;
  page_count: number;
  /** Jobs queued in the lane (ready and delayed), on all pages. */
  total_count: number;
}
