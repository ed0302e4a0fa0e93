import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { Broker, CLUSTER_VIEW, ClusterView, QueueSnapshot, SessionSnapshot, VirtualHost } from '#core';
import { ClusterCounters } from './rates/cluster-counters';
import { RateSampler } from './rates/rate-sampler';
import type { ChannelDto, ConnectionDto, ConsumerDto, QueueDto } from './dto';
import { channelView, connectionView, consumerView, queueView } from './views/rabbit-views';

/**
 * The management layer's view of the broker: snapshots, sampled rates, and the doors' sessions
 * by RabbitMQ's names. Reads only the core's public API.
 */
@Injectable()
export class ManagementService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly sampler: RateSampler;

  constructor(
    @Inject(Broker) readonly broker: Broker,
    /** The cluster this node belongs to (STORE=postgres): message rates are the cluster's. */
    @Optional() @Inject(CLUSTER_VIEW) cluster?: ClusterView,
  ) {
    this.sampler = new RateSampler(broker, cluster === undefined ? null : new ClusterCounters(cluster));
  }

  onApplicationBootstrap(): void {
    this.sampler.start();
  }

  onApplicationShutdown(): void {
    this.sampler.stop();
  }

  vhost(name: string): VirtualHost {
    return this.broker.getVhost(name);
  }

  vhostNames(): string[] {
    return this.broker.vhostNames().sort();
  }

  queueViews(vhosts: readonly string[] = this.vhostNames()): QueueDto[] {
    const out: QueueDto[] = [];
    for (const name of vhosts) {
      for (const q of this.vhost(name).queueSnapshots()) out.push(this.queueView(q));
    }
    return out.sort(byName);
  }

  queueView(q: QueueSnapshot): QueueDto {
    const policy = q.policy === null ? undefined : this.broker.policies.get(q.vhost, q.policy);
    return queueView(q, this.sampler.queueDepthRates(q.vhost, q.name), policy?.definition ?? {});
  }

  sessions(): SessionSnapshot[] {
    return this.broker.sessions.list().filter((s) => s.state !== 'closed');
  }

  /** The session RabbitMQ would call `name` (`peer -> local`). */
  sessionNamed(name: string): SessionSnapshot | undefined {
    return this.sessions().find((s) => s.details.name === name || s.id === name);
  }

  /** Connections (of the sessions `shown` keeps: the user's own, for most users). */
  connectionViews(shown: (s: SessionSnapshot) => boolean = () => true): ConnectionDto[] {
    return this.sessions()
      .filter((s) => s.vhost !== null && shown(s))
      .map(connectionView)
      .sort(byName);
  }

  channelViews(shown: (s: SessionSnapshot) => boolean = () => true): ChannelDto[] {
    const out: ChannelDto[] = [];
    for (const session of this.sessions().filter(shown)) for (const channel of session.channels) out.push(channelView(session, channel));
    return out.sort(byName);
  }

  /** Consumers, of the sessions `shown` keeps (a consumer no session holds is shown with every session). */
  consumerViews(vhost?: string, shown?: (s: SessionSnapshot) => boolean): ConsumerDto[] {
    const sessions = new Map(this.sessions().map((s) => [s.id, s]));
    const out: ConsumerDto[] = [];
    for (const name of vhost === undefined ? this.vhostNames() : [vhost]) {
      for (const consumer of this.vhost(name).consumerSnapshots()) {
        const [sessionId, channel] = (consumer.owner ?? '').split('#');
        const session = sessions.get(sessionId ?? '');
        if (shown !== undefined && (session === undefined || !shown(session))) continue;
        out.push(consumerView(consumer, session, Number(channel ?? 0)));
      }
    }
    return out;
  }
}

const byName = (a: { name: string }, b: { name: string }): number => a.name.localeCompare(b.name);
