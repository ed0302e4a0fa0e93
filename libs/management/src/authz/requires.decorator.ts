import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { UserDefinition } from '#core';
import type { AuthenticatedRequest } from '../http/basic-auth.guard';

/**
 * RabbitMQ's management user tags. `administrator` includes every other; `monitoring` and
 * `policymaker` each include `management` (and not each other).
 */
export type ManagementTag = 'management' | 'policymaker' | 'monitoring' | 'administrator';

export const REQUIRED_TAG = 'management:required-tag';

/**
 * The tag a route needs, read by the guard (RabbitMQ's is_authorized_admin, is_authorized_monitor).
 * On a controller it applies to every route the route itself does not say otherwise for; without
 * it a route needs any management tag.
 */
export const Requires = (tag: ManagementTag): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_TAG, tag);

/** The authenticated user of a management request (the guard puts it there). */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): UserDefinition => {
  const user = context.switchToHttp().getRequest<AuthenticatedRequest>().user;
  // the guard runs first on every route that asks for the user: its absence is a wiring mistake
  if (user === undefined) throw new Error('no authenticated user: the route is missing BasicAuthGuard');
  return user;
});
