import type { Cancel, Clock } from '#amqp';

interface Timer {
  due: number;
  every: number;
  callback: () => void;
  cancelled: boolean;
}

/** A clock that moves only when the test says so: timers fire inside `advance`, in due order. */
export class ManualClock implements Clock {
  private now = 0;
  private timers: Timer[] = [];

  after(ms: number, callback: () => void): Cancel {
    return this.add(ms, 0, callback);
  }

  every(ms: number, callback: () => void): Cancel {
    return this.add(ms, ms, callback);
  }

  /** Timers scheduled and not yet fired or cancelled. */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time on by `ms`, firing every timer that comes due on the way. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const next = this.timers.filter((t) => !t.cancelled && t.due <= until).sort((a, b) => a.due - b.due)[0];
      if (next === undefined) break;
      this.now = next.due;
      if (next.every > 0) next.due += next.every;
      else next.cancelled = true;
      next.callback();
    }
    this.now = until;
    this.timers = this.timers.filter((t) => !t.cancelled);
  }

  private add(ms: number, every: number, callback: () => void): Cancel {
    const timer: Timer = { due: this.now + ms, every, callback, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }
}
