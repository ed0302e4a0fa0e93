import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Broker, CLUSTER_VIEW } from '#core';
import { Cluster } from './cluster';

/** Joins the cluster once the broker is open (before the doors listen), leaves it at shutdown. */
@Injectable()
class ClusterMembershipService implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(Broker) private readonly broker: Broker,
    @Inject(Cluster) private readonly cluster: Cluster,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.cluster.join(this.broker);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.cluster.leave();
  }
}

/**
 * Cluster mode in the Nest application: the Cluster the application made (whose store the core
 * opened), its lifecycle, and the ClusterView the management layer and metrics read.
 */
@Global()
@Module({})
export class ClusterModule {
  static forRoot(cluster: Cluster): DynamicModule {
    return {
      module: ClusterModule,
      providers: [{ provide: Cluster, useValue: cluster }, { provide: CLUSTER_VIEW, useValue: cluster.view }, ClusterMembershipService],
      exports: [Cluster, CLUSTER_VIEW],
    };
  }
}
