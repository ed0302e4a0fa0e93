/**
 * The job door's end-to-end tests run again on cluster nodes (see support/door-scenarios.ts):
 * the same dispenserd scenarios on lanes shared through PostgreSQL.
 */
import { describeDoorScenariosOnClusterNodes } from '../support/door-scenarios';

describeDoorScenariosOnClusterNodes("the job door's end-to-end scenarios on cluster nodes", ['jobs/extensions', 'jobs/blocking', 'jobs/compat', 'jobs/auth-read']);
