import { BadRequestException } from '@nestjs/common';
import { DELIVERY_STATES, DeliveryRecord } from '#delivery';
import type { DeliveryPageState } from '../dto';

export const DELIVERY_PAGE_STATES: readonly DeliveryPageState[] = ['pending', 'retrying', ...DELIVERY_STATES.filter((s) => s !== 'pending')];
const MAX_PAGE_SIZE = 500;
/** What a destination host can look like (a name, an IPv4 or a bracketed IPv6 address, a port). */
const HOST = /^[a-z0-9.\-_:[\]]{1,261}$/i;

/** GET /api/deliveries' query, checked: a bad value is a 400 naming it, never an empty page. */
export interface DeliveryQuery {
  state?: DeliveryPageState;
  host?: string;
  page: number;
  pageSize: number;
}

export function deliveryQueryOf(query: Record<string, string | undefined>): DeliveryQuery {
  const { state, host } = query;
  if (state !== undefined && state !== '' && !DELIVERY_PAGE_STATES.includes(state as DeliveryPageState)) {
    throw new BadRequestException(`state must be one of ${DELIVERY_PAGE_STATES.join(', ')}`);
  }
  if (host !== undefined && host !== '' && !HOST.test(host)) throw new BadRequestException('host must be a host name or address, as in the delivery URL');
  const page = query.page === undefined ? 1 : Number(query.page);
  if (!Number.isInteger(page) || page < 1) throw new BadRequestException('page must be a positive integer');
  // `limit` is the older name of one page's size
  const size = query.page_size ?? query.limit;
  const pageSize = size === undefined ? 100 : Number(size);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw new BadRequestException(`page_size must be 1 to ${MAX_PAGE_SIZE}`);
  return {
    ...(state !== undefined && state !== '' ? { state: state as DeliveryPageState } : {}),
    ...(host !== undefined && host !== '' ? { host: host.toLowerCase() } : {}),
    page,
    pageSize,
  };
}

/** A pending delivery that failed before waits for a retry; one never tried (or just replayed) waits for its first. */
export function pageStateOf(record: DeliveryRecord): DeliveryPageState {
  return record.state === 'pending' && record.nextAttemptAt !== undefined && record.attempts.length > 0 ? 'retrying' : record.state;
}

/** The body of POST /api/deliveries-replay: every dead one of a host (or all), or the ones named. */
export type ReplaySelection = { host?: string } | { uuids: string[] };

export function replaySelectionOf(body: unknown): ReplaySelection {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequestException('the body must be a JSON object');
  const { host, uuids, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new BadRequestException(`unknown field '${unknown[0]}': give host or uuids`);
  if (uuids !== undefined) {
    if (host !== undefined) throw new BadRequestException('give host or uuids, not both');
    if (!Array.isArray(uuids) || uuids.length === 0 || uuids.length > 1000 || !uuids.every((u) => typeof u === 'string' && u !== '')) {
      throw new BadRequestException('uuids must be a list of 1 to 1000 delivery uuids');
    }
    return { uuids: [...new Set(uuids as string[])] };
  }
  if (host === undefined) return {};
  if (typeof host !== 'string' || !HOST.test(host)) throw new BadRequestException('host must be a host name or address');
  return { host };
}
