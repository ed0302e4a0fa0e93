/** A request the job API refuses: HTTP status, dispenserd-style code and message. */
export class JobRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    /** Fields the error answer carries besides status, code and message. */
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'JobRequestError';
  }
}

/** dispenserd's one error answer for bad schedules. */
export const missingMessage = (): JobRequestError => new JobRequestError(400, 1, 'missing message');
export const badRequest = (message: string): JobRequestError => new JobRequestError(400, 1, message);
export const notFound = (message: string): JobRequestError => new JobRequestError(404, 3, message);

/** The error of job `index` of a batch schedule, named by its place in `jobs`. */
export const inBatch = (error: JobRequestError, index: number, details?: Readonly<Record<string, unknown>>): JobRequestError =>
  new JobRequestError(error.status, error.code, `jobs[${index}]: ${error.message}`, details);
