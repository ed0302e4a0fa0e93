import { BadRequestException } from '@nestjs/common';
import type { RateDetails } from '../dto';
import type { Sample } from './sample-ring';

/**
 * RabbitMQ's history parameters (seconds): `lengths_age`/`lengths_incr` ask for samples of the
 * depths, `msg_rates_age`/`msg_rates_incr` for samples of the message counters, over the last
 * `age` seconds one every `incr` seconds.
 */
export interface HistoryQuery {
  lengths_age?: string;
  lengths_incr?: string;
  msg_rates_age?: string;
  msg_rates_incr?: string;
}

/** A span of samples asked for, in ms. */
export interface SampleWindow {
  age: number;
  incr: number;
}

export interface HistoryWindows {
  lengths: SampleWindow | null;
  msgRates: SampleWindow | null;
}

function windowOf(query: HistoryQuery, kind: 'lengths' | 'msg_rates'): SampleWindow | null {
  const age = query[`${kind}_age`];
  const incr = query[`${kind}_incr`];
  if (age === undefined && incr === undefined) return null;
  const seconds = (value: string | undefined, name: string): number => {
    const n = Number(value);
    if (value === undefined || !/^\d+$/.test(value) || n < 1) throw new BadRequestException(`${name} must be a positive whole number of seconds`);
    return n;
  };
  return { age: seconds(age, `${kind}_age`) * 1000, incr: seconds(incr, `${kind}_incr`) * 1000 };
}

export function historyWindows(query: HistoryQuery): HistoryWindows {
  return { lengths: windowOf(query, 'lengths'), msgRates: windowOf(query, 'msg_rates') };
}

/**
 * A `*_details` object with its samples, as RabbitMQ adds them: `samples` newest first, `avg` the
 * mean of the samples, `avg_rate` the change per second from the oldest to the newest.
 */
export function withSamples(details: RateDetails, samples: Sample[]): RateDetails {
  const newest = samples[0];
  const oldest = samples[samples.length - 1];
  const span = newest !== undefined && oldest !== undefined ? (newest.timestamp - oldest.timestamp) / 1000 : 0;
  return {
    ...details,
    samples,
    avg: samples.length === 0 ? 0 : round(samples.reduce((n, s) => n + s.sample, 0) / samples.length),
    avg_rate: span > 0 ? round((newest!.sample - oldest!.sample) / span) : 0,
  };
}

const round = (n: number): number => Math.round(n * 10) / 10;
