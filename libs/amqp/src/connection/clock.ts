/** Cancels a scheduled callback; calling it twice is harmless. */
export type Cancel = () => void;

/**
 * The timers a connection uses (handshake timeout, heartbeats, close timeout). Injected, so tests
 * can drive heartbeats with a manual clock instead of waiting seconds.
 */
export interface Clock {
  after(ms: number, callback: () => void): Cancel;
  every(ms: number, callback: () => void): Cancel;
}

/** Node's timers, unref'd: a connection's timers never keep the process alive. */
export const systemClock: Clock = {
  after(ms, callback) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
  every(ms, callback) {
    const timer = setInterval(callback, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

export const AMQP_CLOCK = Symbol('AMQP_CLOCK');
