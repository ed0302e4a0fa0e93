import { BrokerError } from '#core';

/** The reply code of the BrokerError `fn` throws, or 0 when it does not throw. */
export function errorCode(fn: () => unknown): number {
  try {
    fn();
  } catch (error) {
    if (error instanceof BrokerError) return error.code;
    throw error;
  }
  return 0;
}
