import { Cluster } from '#cluster';
import { startTestApp, TestApp } from './app-harness';
import { ManagementClient } from './management-client';

/** A broker node of a test cluster, started in this process. */
export interface TestNode {
  name: string;
  app: TestApp;
  api: ManagementClient;
  cluster: Cluster;
}

/** Settings of a test cluster's nodes: short timeouts, so a dead node is found within a second or two. */
export const TEST_CLUSTER_SETTINGS: Record<string, string> = {
  STORE: 'postgres',
  CLUSTER_NODE_TIMEOUT_MS: '1500',
  CLUSTER_POLL_INTERVAL_MS: '200',
  DATABASE_POOL_SIZE: '4',
};

/** Starts a node on the database at `url` (in this process, ephemeral ports). */
export async function startNode(url: string, name: string, settings: Record<string, string> = {}): Promise<TestNode> {
  const app = await startTestApp({ ...TEST_CLUSTER_SETTINGS, DATABASE_URL: url, NODE_NAME: name, ...settings });
  return { name, app, api: new ManagementClient(app.managementUrl), cluster: app.running.app.get(Cluster) };
}

/**
 * The classic type declared shareable, for the tests of definitions that declare classic queues
 * by name (the database-backed type, the cluster's default, is shared for real). Its messages are
 * each node's own: only definitions are what these tests check.
 */
export function allowClassicQueuesForDefinitionTests(node: TestNode): void {
  const classic = node.app.broker.queueTypes.get('classic')!;
  node.app.broker.queueTypes.register({ ...classic, sharedAcrossNodes: true });
}
