import type { Logger } from '#observability';
import type { Database } from '../database/database';
import { CHANNELS, Notifications } from '../database/notifications';

export interface AppliedBarrierOptions {
  /** This node (it applied its own changes before committing them). */
  node: string;
  /** A node that has not applied a change within this is dead, and not waited for. */
  timeoutMs: number;
  /** Looking again without a notification: every this many ms (with NOTIFY, a backstop). */
  recheckMs: number;
}

interface Waiter {
  version: number;
  deadline: number;
  done: () => void;
}

/**
 * Waits until every other live node has applied definitions up to a version: what a declare,
 * a management PUT or a definitions import waits for before it answers, so the next request sees
 * the change on any node. Live: running and heartbeating within the node timeout. A node that has
 * not applied the version within the timeout is not waited for any longer (it is dead, or will be
 * found dead: it reloads what it missed when it comes back). One query serves every waiter; it
 * runs again when a node says it applied something (NOTIFY) and, as a backstop, on a timer.
 */
export class AppliedBarrier {
  private readonly waiters: Waiter[] = [];
  private checking = false;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  /** Every live node applied at least this much, as last seen. */
  private applied = 0;
  private stopped = false;

  constructor(
    private readonly database: Database,
    private readonly options: AppliedBarrierOptions,
    notifications: Notifications | null,
    private readonly log: Logger,
  ) {
    notifications?.on(CHANNELS.applied, () => this.check());
  }

  /** Resolves once every live node applied `version` (or the node timeout passed). */
  wait(version: number): Promise<void> {
    if (version <= this.applied || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ version, deadline: Date.now() + this.options.timeoutMs, done: resolve });
      this.check();
    });
  }

  private check(): void {
    if (this.waiters.length === 0) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = true;
    void this.look().finally(() => {
      this.checking = false;
      if (this.again) {
        this.again = false;
        this.check();
      } else this.schedule();
    });
  }

  private schedule(): void {
    if (this.waiters.length === 0 || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.check();
    }, this.options.recheckMs);
    this.timer.unref();
  }

  private async look(): Promise<void> {
    const wanted = this.waiters.reduce((max, w) => Math.max(max, w.version), 0);
    let lagging: { name: string; applied_version: string }[] = [];
    try {
      ({ rows: lagging } = await this.database.query<{ name: string; applied_version: string }>(
        `SELECT name, applied_version FROM nodes
         WHERE state = 'running' AND name <> $1 AND applied_version < $2 AND last_heartbeat > now() - $3::float8 * interval '1 millisecond'`,
        [this.options.node, wanted, this.options.timeoutMs],
      ));
    } catch {
      // the database went away after the commit: the change is committed; wait for it to answer, up to the deadline
      lagging = [{ name: '(unknown: the database did not answer)', applied_version: '0' }];
    }
    const applied = lagging.reduce((min, row) => Math.min(min, Number(row.applied_version)), wanted);
    this.applied = Math.max(this.applied, applied);
    const now = Date.now();
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      if (waiter.version <= applied) {
        this.waiters.splice(i, 1);
        waiter.done();
      } else if (now >= waiter.deadline) {
        this.waiters.splice(i, 1);
        this.log.warn(
          { version: waiter.version, nodes: lagging.filter((row) => Number(row.applied_version) < waiter.version).map((row) => row.name) },
          'definition change answered before every node applied it: these nodes did not within CLUSTER_NODE_TIMEOUT_MS',
        );
        waiter.done();
      }
    }
  }

  /** Answers every waiter now (the node is stopping). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    for (const waiter of this.waiters.splice(0)) waiter.done();
  }
}
