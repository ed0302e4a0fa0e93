import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import type { BrokerConfig } from '#config';

/**
 * Large message bodies are external memory; every 64 MB of it starts a full marking of the heap.
 * V8 marks concurrently on helper threads, which on a machine with two cores or fewer take the CPU
 * the broker's own thread and its clients need (1 MB transient messages: 554 msg/s with them,
 * 850 without, same machine, same run). Marking then runs in small steps on the main thread.
 */
export function applyGcTuning(config: Pick<BrokerConfig, 'GC_CONCURRENT_MARKING'>): boolean {
  const concurrent = config.GC_CONCURRENT_MARKING === 'auto' ? availableParallelism() > 2 : config.GC_CONCURRENT_MARKING === 'on';
  if (!concurrent) setFlagsFromString('--no-concurrent-marking');
  return concurrent;
}
