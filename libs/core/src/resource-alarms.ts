import { readdirSync, readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { totalmem } from 'node:os';

export interface ResourceLimits {
  /** Directory whose file system is watched for free space; null: no disk alarm. */
  dataDir: string | null;
  /** Resident memory above which publishers are blocked; 0 = 40% of the machine's memory. */
  memoryHighWatermarkBytes: number;
  /** Free disk space below which publishers are blocked. */
  diskFreeLimitBytes: number;
  intervalMs?: number;
}

type AlarmListener = (reason: string | null) => void;

/**
 * RabbitMQ-style resource alarms: while memory is above its watermark or free disk below its limit,
 * front doors stop accepting publishes (AMQP connection.blocked, HTTP 503) instead of letting the
 * process fall over. Checked on a timer; listeners hear each change.
 */
export class ResourceAlarms {
  private timer: NodeJS.Timeout | null = null;
  private reason: string | null = null;
  private readonly listeners: AlarmListener[] = [];
  /** Resident memory above which the memory alarm goes off. */
  readonly memoryLimit: number;
  /** Free disk space found by the last check (bytes; -1 before the first). */
  diskFree = -1;

  constructor(private readonly limits: ResourceLimits) {
    this.memoryLimit = limits.memoryHighWatermarkBytes > 0 ? limits.memoryHighWatermarkBytes : Math.floor(totalmem() * 0.4);
  }

  get diskFreeLimit(): number {
    return this.limits.diskFreeLimitBytes;
  }

  /** Open file descriptors of the process (Linux /proc; 0 where unknown). */
  openFds(): number {
    try {
      return readdirSync('/proc/self/fd').length;
    } catch {
      return 0;
    }
  }

  /** The process's open-files limit (0 where unknown). */
  maxFds(): number {
    try {
      const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
      return Number(line?.split(/\s+/)[3] ?? 0) || 0;
    } catch {
      return 0;
    }
  }

  /** The active alarm ("memory" / "disk" with figures), or null. */
  get active(): string | null {
    return this.reason;
  }

  onChange(listener: AlarmListener): void {
    this.listeners.push(listener);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.limits.intervalMs ?? 1000);
    this.timer.unref();
    void this.check();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Forces a state (tests, operators); `null` clears it until the next check finds otherwise. */
  set(reason: string | null): void {
    if (reason === this.reason) return;
    this.reason = reason;
    for (const listener of this.listeners) listener(reason);
  }

  async check(): Promise<void> {
    const rss = process.memoryUsage.rss();
    let reason: string | null = null;
    if (rss > this.memoryLimit) {
      reason = `memory: ${mb(rss)} MB in use, above the high watermark of ${mb(this.memoryLimit)} MB`;
    } else if (this.limits.dataDir !== null) {
      try {
        const fs = await statfs(this.limits.dataDir);
        const free = fs.bavail * fs.bsize;
        this.diskFree = free;
        if (free < this.limits.diskFreeLimitBytes) {
          reason = `disk: ${mb(free)} MB free, below the limit of ${mb(this.limits.diskFreeLimitBytes)} MB`;
        }
      } catch {
        // the directory vanished or statfs is unsupported: no disk alarm
      }
    }
    this.set(reason);
  }
}

const mb = (bytes: number): number => Math.round(bytes / 1048576);
