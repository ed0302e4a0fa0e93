import { BrokerError, BrokerErrorKind } from '#core';

/** The kind of the BrokerError `fn` throws, or null when it does not throw. */
export function errorKind(fn: () => unknown): BrokerErrorKind | null {
  try {
    fn();
  } catch (error) {
    if (error instanceof BrokerError) return error.kind;
    throw error;
  }
  return null;
}
