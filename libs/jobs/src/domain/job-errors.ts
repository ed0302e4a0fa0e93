/** A request the job API refuses: HTTP status, dispenserd-style code and message. */
export class JobRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'JobRequestError';
  }
}

/** dispenserd's one error answer for bad schedules. */
export const missingMessage = (): JobRequestError => new JobRequestError(400, 1, 'missing message');
export const badRequest = (message: string): JobRequestError => new JobRequestError(400, 1, message);
export const notFound = (message: string): JobRequestError => new JobRequestError(404, 3, message);
