/**
 * Preloaded (`node -r`) into a broker process a test measures: SIGUSR2 runs a full garbage
 * collection, so the heap figure read afterwards is what is live, not what the collector has not
 * reached yet. Test-only; the broker itself never exposes gc.
 */
const collect = (globalThis as { gc?: () => void }).gc;
if (collect) process.on('SIGUSR2', () => collect());
