import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

/** A payload that failed its schema: the answer names the field. */
export class ValidationFailure {
  constructor(
    readonly field: string,
    readonly message: string,
  ) {}
}

const ajv = new Ajv({
  coerceTypes: true,
  useDefaults: true,
  allErrors: false,
  strict: true,
  strictRequired: false,
});

/** Compiles a schema once, at start-up; the returned function normalises the payload in place. */
export function compile<T>(schema: object): (payload: Record<string, unknown>) => ValidationFailure | T {
  const validate: ValidateFunction = ajv.compile(schema);
  return (payload) => {
    if (validate(payload)) return payload as T;
    // ajv reports a failed anyOf's branch errors before the anyOf itself: the anyOf says what is wrong.
    const errors = validate.errors ?? [];
    return describe(errors.find((error) => error.keyword === 'anyOf') ?? errors[0]);
  };
}

function describe(error: ErrorObject | undefined): ValidationFailure {
  if (!error) return new ValidationFailure('(body)', 'is invalid');
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
    .replace(/^\./, '');
  if (error.keyword === 'required') {
    const missing = String(error.params['missingProperty']);
    const field = path ? `${path}.${missing}` : missing;
    return new ValidationFailure(field, `${field} is required`);
  }
  if (error.keyword === 'anyOf')
    return new ValidationFailure(path || '(body)', 'needs pic_url or pic_full_url');
  const field = path || '(body)';
  const detail =
    error.keyword === 'pattern' ? 'must not be empty or contain control characters' : error.message;
  return new ValidationFailure(field, `${field} ${detail ?? 'is invalid'}`);
}

/**
 * Real payloads carry spaces around identifiers (`" test_stream"`) and even around key names (`"user_ip "`),
 * PROTOCOL.md §4: trim both at the top level before validating. `channel_id` stands in for a missing
 * `stream_id` (Tencent documents them as the same).
 */
export function normalizeTopLevel(body: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(body);
  // Usual case, on every callback: no key needs trimming. A spread copies JSON.parse's objects in one fast step;
  // building a new object key by key cost twice as much.
  const exact = keys.every((key) => key.trim() === key);
  const out: Record<string, unknown> = exact ? { ...body } : retrimmed(body, keys);
  for (const key of exact ? keys : Object.keys(out)) {
    const value = out[key];
    if (typeof value === 'string') {
      const trimmed = value.trim();
      if (trimmed !== value) out[key] = trimmed;
    }
  }
  if (out['stream_id'] === undefined && typeof out['channel_id'] === 'string')
    out['stream_id'] = out['channel_id'];
  return out;
}

/** A copy with trimmed key names; an exact key wins over a padded one ("user_ip" over "user_ip "). */
function retrimmed(body: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const rawKey of keys) {
    const key = rawKey.trim();
    if (key !== rawKey && Object.hasOwn(body, key)) continue;
    out[key] = body[rawKey];
  }
  return out;
}
