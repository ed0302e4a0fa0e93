import { DEFINITION_NAMESPACES } from '#core';

/** The table that holds the records of each definition namespace. */
export const DEFINITION_TABLES: ReadonlyMap<string, string> = new Map([
  [DEFINITION_NAMESPACES.users, 'users'],
  [DEFINITION_NAMESPACES.permissions, 'permissions'],
  [DEFINITION_NAMESPACES.policies, 'policies'],
  [DEFINITION_NAMESPACES.vhostLimits, 'vhost_limits'],
]);
