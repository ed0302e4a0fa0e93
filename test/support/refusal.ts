import assert from 'node:assert/strict';

/** The message a promise is rejected with; fails the test when it is fulfilled instead. */
export async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('expected a refusal');
}
