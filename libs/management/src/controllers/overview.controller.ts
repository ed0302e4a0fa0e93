import { Controller, Get, Inject, NotFoundException, Optional, Param, Query, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { statfs } from 'node:fs/promises';
import { hostname, totalmem } from 'node:os';
import { CLUSTER_VIEW, ClusterNode, ClusterView, UserDefinition } from '#core';
import { ManagementAuthorization } from '../authz/management-authorization';
import { CurrentUser, Requires } from '../authz/requires.decorator';
import { BasicAuthGuard } from '../http/basic-auth.guard';
import { ManagementService } from '../management.service';
import { HistoryQuery, historyWindows, withSamples } from '../rates/history-query';
import { DepthSeries, GLOBAL_COUNTERS } from '../rates/rate-sampler';
import type { AlarmsCheckDto, CurrentUserDto, ExchangeTypeDto, LivenessDto, NodeDto, OverviewDto, ReadinessDto } from '../dto';
import { depthView, globalMessageStatsView, NODE_NAME } from '../views/rabbit-views';

/** The version RabbitMQ clients and tools see (the management API level we follow). */
export const MANAGEMENT_VERSION = '3.12.0';
export const PRODUCT_NAME = 'unified-broker';
export const PRODUCT_VERSION = '0.1.0';

const EXCHANGE_TYPES: ExchangeTypeDto[] = [
  ...['direct', 'fanout', 'headers', 'topic'].map((name) => ({ name, description: `AMQP ${name} exchange, as per the AMQP specification`, enabled: true })),
  { name: 'x-delayed-message', description: 'Delayed Message Exchange.', enabled: true },
];

@Controller('api')
@UseGuards(BasicAuthGuard)
export class OverviewController {
  constructor(
    @Inject(ManagementService) private readonly m: ManagementService,
    @Inject(ManagementAuthorization) private readonly authz: ManagementAuthorization,
    /** The cluster this node belongs to (STORE=postgres); absent on a single node. */
    @Optional() @Inject(CLUSTER_VIEW) private readonly cluster?: ClusterView,
  ) {}

  /** This node's name: the cluster's name for it, or the single node's. */
  private get nodeName(): string {
    return this.cluster?.localNode ?? NODE_NAME;
  }

  /**
   * Totals over what the user may see (monitoring users: everything), as RabbitMQ's overview; with
   * `msg_rates_age`/`msg_rates_incr` the message counters' samples, with `lengths_age`/
   * `lengths_incr` the queued messages' (of the user's vhosts), as RabbitMQ adds them.
   */
  @Get('overview')
  overview(@CurrentUser() user: UserDefinition, @Query() query: HistoryQuery = {}): OverviewDto {
    const answer = this.totals(user);
    const { lengths, msgRates } = historyWindows(query);
    const now = Date.now();
    if (msgRates !== null) {
      // the counters are the broker's (as message_stats above): one history for everyone
      for (const name of GLOBAL_COUNTERS) answer.message_stats[`${name}_details`] = withSamples(answer.message_stats[`${name}_details`], this.m.sampler.globalSamples(name, msgRates, now));
    }
    if (lengths !== null) {
      const vhosts = this.authz.seesEverySession(user) ? null : this.m.broker.vhostNames().filter((v) => this.authz.listsResourcesOf(user, v));
      const totals = answer.queue_totals;
      const samplesOf = (name: DepthSeries) => (vhosts === null ? this.m.sampler.globalSamples(name, lengths, now) : this.m.sampler.vhostsDepthSamples(vhosts, name, lengths, now));
      totals.messages_details = withSamples(totals.messages_details, samplesOf('messages'));
      totals.messages_ready_details = withSamples(totals.messages_ready_details, samplesOf('messages_ready'));
      totals.messages_unacknowledged_details = withSamples(totals.messages_unacknowledged_details, samplesOf('messages_unacknowledged'));
    }
    return answer;
  }

  private totals(user: UserDefinition): OverviewDto {
    const whole = this.m.broker.snapshot();
    const everything = this.authz.seesEverySession(user);
    const snapshot = everything ? whole : { ...whole, vhosts: whole.vhosts.filter((v) => this.authz.listsResourcesOf(user, v.name)) };
    const counters = this.m.sampler.globalCounters();
    const ready = snapshot.vhosts.reduce((n, v) => n + v.messagesReady, 0);
    const unacked = snapshot.vhosts.reduce((n, v) => n + v.messagesUnacknowledged, 0);
    const sessions = this.m.sessions().filter((s) => everything || s.user === user.name);
    const amqp = this.m.broker.sessions.counters().amqp ?? {};
    return {
      management_version: MANAGEMENT_VERSION,
      rates_mode: 'basic',
      exchange_types: EXCHANGE_TYPES,
      product_version: PRODUCT_VERSION,
      product_name: PRODUCT_NAME,
      rabbitmq_version: MANAGEMENT_VERSION,
      cluster_name: this.nodeName,
      erlang_version: `Node.js ${process.version}`,
      node: this.nodeName,
      message_stats: globalMessageStatsView(counters, (name) => this.m.sampler.globalRate(name)),
      churn_rates: {
        connection_created: amqp.connectionsOpened ?? 0,
        connection_closed: amqp.connectionsClosed ?? 0,
        channel_created: amqp.channelsOpened ?? 0,
        channel_closed: amqp.channelsClosed ?? 0,
        queue_declared: snapshot.counters.queuesDeclared,
        queue_created: snapshot.counters.queuesCreated,
        queue_deleted: snapshot.counters.queuesDeleted,
      },
      queue_totals: depthView(ready, unacked, this.m.sampler.totalDepthRates()),
      object_totals: {
        connections: sessions.filter((s) => s.vhost !== null).length,
        channels: sessions.reduce((n, s) => n + s.channels.length, 0),
        exchanges: snapshot.vhosts.reduce((n, v) => n + v.exchanges, 0),
        queues: snapshot.vhosts.reduce((n, v) => n + v.queues, 0),
        consumers: snapshot.vhosts.reduce((n, v) => n + v.consumers, 0),
      },
      statistics_db_event_queue: 0,
      listeners: [],
      contexts: [],
      alarm: snapshot.alarm,
      recovered_messages: snapshot.recoveredMessages,
    };
  }

  @Get('whoami')
  whoami(@CurrentUser() user: UserDefinition): CurrentUserDto {
    return { name: user.name, tags: user.tags };
  }

  /** Every node: this one; in a cluster, every node the database knows (running or not). */
  @Get('nodes')
  @Requires('monitoring')
  async nodes(): Promise<NodeDto[]> {
    if (this.cluster === undefined) return [await this.node()];
    return Promise.all((await this.cluster.nodes()).map((node) => this.clusterNode(node)));
  }

  @Get('nodes/:name')
  @Requires('monitoring')
  async nodeNamed(@Param('name') name: string): Promise<NodeDto> {
    if (this.cluster === undefined) return this.node();
    const node = (await this.cluster.nodes()).find((n) => n.name === name);
    if (node === undefined) throw new NotFoundException(`no node '${name}' in the cluster`);
    return this.clusterNode(node);
  }

  @Get('health/checks/alarms')
  alarms(@Res() reply: FastifyReply): void {
    const alarm = this.m.broker.alarms.active;
    const answer: AlarmsCheckDto =
      alarm === null ? { status: 'ok' } : { status: 'failed', reason: `resource alarm(s) in effect: ${alarm}`, alarms: [{ node: this.nodeName, resource: alarm.split(':')[0] ?? alarm }] };
    void reply.code(alarm === null ? 200 : 503).send(answer);
  }

  /**
   * A node of the cluster: this one measured now, another as it reported itself with its last
   * heartbeat; with when it started and last heartbeated, and its addresses and ports.
   */
  private async clusterNode(node: ClusterNode): Promise<NodeDto> {
    const cluster = { last_heartbeat: new Date(node.lastHeartbeat).toISOString(), addresses: node.addresses, ports: node.ports };
    if (node.name === this.nodeName) return { ...(await this.node()), ...cluster };
    const figures = node.figures;
    return {
      name: node.name,
      type: 'disc',
      running: node.running,
      os_pid: String(figures?.osPid ?? ''),
      host: node.host,
      mem_used: figures?.memUsed ?? 0,
      mem_limit: figures?.memLimit ?? 0,
      mem_alarm: figures?.memAlarm ?? false,
      disk_free: 0,
      disk_free_limit: figures?.diskFreeLimit ?? 0,
      disk_free_alarm: figures?.diskAlarm ?? false,
      fd_used: figures?.fdUsed ?? 0,
      fd_total: figures?.fdTotal ?? 0,
      sockets_used: figures?.socketsUsed ?? 0,
      proc_used: 1,
      // as RabbitMQ: how long it has run; a node that is not running shows how long it ran
      uptime: Math.max(0, (node.running ? Date.now() : node.lastHeartbeat) - node.startedAt),
      processors: undefined,
      total_memory: figures?.totalMemory ?? 0,
      rates_mode: 'basic',
      exchange_types: EXCHANGE_TYPES,
      partitions: [],
      ...cluster,
    };
  }

  @Get('health/checks/local-alarms')
  localAlarms(@Res() reply: FastifyReply): void {
    this.alarms(reply);
  }

  private async node(): Promise<NodeDto> {
    const memory = process.memoryUsage();
    let diskFree = 0;
    try {
      const fs = await statfs(process.cwd());
      diskFree = fs.bavail * fs.bsize;
    } catch {
      // unsupported: report 0
    }
    const alarm = this.m.broker.alarms.active;
    return {
      name: this.nodeName,
      type: 'disc',
      running: true,
      os_pid: String(process.pid),
      host: hostname(),
      mem_used: memory.rss,
      mem_limit: this.m.broker.alarms.memoryLimit,
      mem_alarm: alarm?.startsWith('memory') ?? false,
      disk_free: diskFree,
      disk_free_limit: this.m.broker.alarms.diskFreeLimit,
      disk_free_alarm: alarm?.startsWith('disk') ?? false,
      fd_used: this.m.broker.alarms.openFds(),
      fd_total: this.m.broker.alarms.maxFds(),
      sockets_used: this.m.sessions().length,
      proc_used: 1,
      uptime: Date.now() - this.m.broker.snapshot().startedAt,
      processors: undefined,
      total_memory: totalmem(),
      rates_mode: 'basic',
      exchange_types: EXCHANGE_TYPES,
      partitions: [],
    };
  }
}

/** Liveness and readiness, unauthenticated (for orchestrators and load balancers). */
@Controller()
export class HealthController {
  constructor(
    @Inject(ManagementService) private readonly m: ManagementService,
    @Optional() @Inject(CLUSTER_VIEW) private readonly cluster?: ClusterView,
  ) {}

  @Get('healthz')
  alive(): LivenessDto {
    return { status: 'ok' };
  }

  @Get('readyz')
  ready(@Res() reply: FastifyReply): void {
    const snapshot = this.m.broker.snapshot();
    const problems: string[] = [];
    if (snapshot.alarm !== null) problems.push(`resource alarm: ${snapshot.alarm}`);
    if (!this.m.broker.storeOpen) problems.push('the store is not open');
    // in a cluster: the database connection, and whether this node follows the others
    if (this.cluster !== undefined) problems.push(...this.cluster.problems());
    const answer: ReadinessDto = { status: problems.length === 0 ? 'ok' : 'failed', problems };
    void reply.code(problems.length === 0 ? 200 : 503).send(answer);
  }
}
