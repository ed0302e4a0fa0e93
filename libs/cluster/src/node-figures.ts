import type { Broker, NodeFigures } from '#core';
import { networkInterfaces, totalmem } from 'node:os';

/** What this node reports of itself with each heartbeat (RabbitMQ's node figures). */
export function nodeFigures(broker: Broker): NodeFigures {
  const alarm = broker.alarms.active;
  return {
    osPid: process.pid,
    memUsed: process.memoryUsage.rss(),
    memLimit: broker.alarms.memoryLimit,
    memAlarm: alarm?.startsWith('memory') ?? false,
    diskFreeLimit: broker.alarms.diskFreeLimit,
    diskAlarm: alarm?.startsWith('disk') ?? false,
    fdUsed: broker.alarms.openFds(),
    fdTotal: broker.alarms.maxFds(),
    socketsUsed: broker.sessions.list().filter((s) => s.state !== 'closed').length,
    totalMemory: totalmem(),
    counters: { core: broker.metrics.snapshot(), doors: broker.sessions.counters() },
  };
}

/** The host's own addresses (not loopback), as other nodes and operators would reach it. */
export function hostAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const address of list ?? []) if (!address.internal) out.push(address.address);
  return out;
}
