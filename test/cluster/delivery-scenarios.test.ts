/**
 * The delivery door's end-to-end tests run again on cluster nodes (see support/door-scenarios.ts):
 * the same Dispatcher scenarios on queues shared through PostgreSQL.
 */
import { describeDoorScenariosOnClusterNodes } from '../support/door-scenarios';

describeDoorScenariosOnClusterNodes("the delivery door's end-to-end scenarios on cluster nodes", [
  'delivery/intake',
  'delivery/outcomes',
  'delivery/lookup',
  'delivery/refused-intake',
  'delivery/intake-validation',
]);
