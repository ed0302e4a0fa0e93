// The settings a policy definition may hold and the values each takes: the page checks a
// definition with them before sending it (the server checks again; these are the core's
// POLICY_KEYS, a browser test keeps the two lists the same).

const nonNegativeInteger = (v) => (Number.isInteger(v) && v >= 0 ? null : 'a non-negative integer');
const positiveInteger = (v) => (Number.isInteger(v) && v > 0 ? null : 'a positive integer');
const integer = (v) => (Number.isInteger(v) ? null : 'an integer');
const string = (v) => (typeof v === 'string' ? null : 'a string');
const OVERFLOWS = ['drop-head', 'reject-publish', 'reject-publish-dlx'];

/** Each setting: what it means, and a check answering null or what the value must be. */
export const POLICY_SETTINGS = {
  'message-ttl': { help: 'ms a message may stay in the queue', check: nonNegativeInteger },
  expires: { help: 'ms unused before the queue is deleted', check: positiveInteger },
  'max-length': { help: 'ready messages at most', check: nonNegativeInteger },
  'max-length-bytes': { help: 'ready message bytes at most', check: nonNegativeInteger },
  overflow: { help: OVERFLOWS.join(' | '), check: (v) => (OVERFLOWS.includes(v) ? null : `one of ${OVERFLOWS.join(', ')}`) },
  'dead-letter-exchange': { help: 'exchange that receives dead letters', check: string },
  'dead-letter-routing-key': { help: 'routing key of dead letters', check: string },
  'delivery-limit': { help: 'failed deliveries before dead-lettering', check: integer },
};

/** The definition typed into the editor, checked; throws with every problem found. */
export function parsePolicyDefinition(text) {
  let definition;
  try {
    definition = JSON.parse(text);
  } catch (error) {
    throw new Error(`the definition is not valid JSON: ${error.message}`);
  }
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) throw new Error('the definition must be a JSON object, e.g. {"max-length": 1000}');
  const keys = Object.keys(definition);
  if (keys.length === 0) throw new Error('the definition must not be empty');
  const problems = [];
  for (const key of keys) {
    const setting = POLICY_SETTINGS[key];
    if (setting === undefined) problems.push(`'${key}' is not a known setting (${Object.keys(POLICY_SETTINGS).join(', ')})`);
    else {
      const wanted = setting.check(definition[key]);
      if (wanted !== null) problems.push(`'${key}' must be ${wanted}, not ${JSON.stringify(definition[key])}`);
    }
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return definition;
}
