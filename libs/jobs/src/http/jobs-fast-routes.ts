import { FastAnswer, FastRequest, FastRoute, headerLines, HttpAuthenticator } from '#http-kit';
import type { Logger } from '#observability';
import { RequestFields } from '../domain/request-fields';
import { jobErrorAnswer } from './job-error-answer';
import type { JobAnswer, JobRoutes } from './job-routes';
import { render } from './job-responses';

/**
 * The job API's hot requests on the HTTP fast path: `/schedule`, `/receive_noblock`, `/receive_block` and `/ack`, answered
 * by the same route code as on Fastify (same documents, same errors), without Node's
 * per-request objects. Everything else about the door stays on Fastify.
 */
export function jobsFastRoutes(routes: JobRoutes, authenticator: HttpAuthenticator, maxBodyBytes: number, logger: Logger): Map<string, FastRoute> {
  const route =
    (answerOf: (fields: RequestFields | null, user: string | null, request: FastRequest) => Promise<JobAnswer>): FastRoute =>
    async (request): Promise<FastAnswer> => {
      // parsed before any await: the body is a view of the read buffer
      const fields = RequestFields.parse(request.body.length === 0 ? undefined : request.body);
      try {
        const user = authenticator.enabled ? await authenticator.authenticate(request.authorization, request.remoteAddress) : null;
        const answer = await answerOf(fields, user, request);
        return { status: answer.status, body: render(answer.body), onSent: answer.settle };
      } catch (error) {
        const failure = jobErrorAnswer(error, maxBodyBytes)!;
        if (failure.unexpected) logger.error({ err: error }, 'job API request failed');
        return { status: failure.status, body: render(failure.body), headers: headerLines(failure.headers) };
      }
    };
  return new Map([
    ['/schedule', route((fields, user) => routes.scheduleAnswer(fields, user))],
    ['/receive_noblock', route((fields, user, request) => routes.receiveAnswer(fields, user, false, request.watchClose))],
    ['/receive_block', route((fields, user, request) => routes.receiveAnswer(fields, user, true, request.watchClose))],
    ['/ack', route((fields, user) => routes.ackAnswer(fields, user))],
  ]);
}
