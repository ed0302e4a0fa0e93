import { BadRequestException } from '@nestjs/common';
import { nameFilter } from './name-filter';

/** RabbitMQ's list query: `page`, `page_size`, `name` (substring, or an RE2 regex with `use_regex`), `sort`, `sort_reverse`. */
export interface ListQuery {
  page?: string;
  page_size?: string;
  name?: string;
  use_regex?: string;
  sort?: string;
  sort_reverse?: string;
}

/** One page of a list, as RabbitMQ answers a list request that names `page`. */
export interface Page<T> {
  /** Items that pass the `name` filter, on all pages. */
  filtered_count: number;
  /** Items on this page. */
  item_count: number;
  items: T[];
  page: number;
  page_count: number;
  page_size: number;
  /** Items before filtering. */
  total_count: number;
}

/** A list route's answer: the whole (filtered, sorted) list, or with `page` one page of it. */
export type Paged<T> = T[] | Page<T>;

const MAX_PAGE_SIZE = 500;

/**
 * Filters, sorts and pages a list server-side, as RabbitMQ's API does: without `page` the whole
 * (filtered) list, with it `{filtered_count, item_count, items, page, page_count, page_size, total_count}`.
 */
export function paged<T extends { name: string }>(items: T[], query: ListQuery): Paged<T> {
  let filtered = items;
  if (query.name !== undefined && query.name !== '') {
    const match = nameFilter(query.name, query.use_regex === 'true');
    filtered = filtered.filter((item) => match(item.name));
  }
  if (query.sort !== undefined && query.sort !== '') {
    // `sort` names any field, nested ones with dots (`message_stats.publish`): read as plain JSON
    const path = query.sort.split('.');
    const valueOf = (item: T): unknown => path.reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], item);
    filtered = [...filtered].sort((a, b) => {
      const x = valueOf(a);
      const y = valueOf(b);
      if (typeof x === 'number' && typeof y === 'number') return x - y;
      return String(x ?? '').localeCompare(String(y ?? ''));
    });
    if (query.sort_reverse === 'true') filtered.reverse();
  }
  if (query.page === undefined) return filtered;
  const page = Number(query.page);
  const pageSize = query.page_size === undefined ? 100 : Number(query.page_size);
  if (!Number.isInteger(page) || page < 1) throw new BadRequestException('page must be a positive integer');
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw new BadRequestException(`page_size must be 1 to ${MAX_PAGE_SIZE}`);
  const pageCount = Math.max(1, Math.ceil(filtered.length / pageSize));
  if (page > pageCount) throw new BadRequestException(`page ${page} is beyond the last page (${pageCount})`);
  const pageItems = filtered.slice((page - 1) * pageSize, page * pageSize);
  return {
    filtered_count: filtered.length,
    item_count: pageItems.length,
    items: pageItems,
    page,
    page_count: pageCount,
    page_size: pageSize,
    total_count: items.length,
  };
}
