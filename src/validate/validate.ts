import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { PATTERNS } from './schemas.js';

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

interface PropertySchema {
  readonly type?: string;
  readonly items?: ObjectSchema;
  readonly default?: unknown;
  readonly minLength?: number;
}
interface ObjectSchema {
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, PropertySchema>>;
}

/**
 * What ajv's type coercion must not do. It turns `null` and booleans into 0 or 1 for a number, any string that
 * JavaScript reads as a number into one ("0x1f", "Infinity"), `null` and booleans into "" or "true" for a string,
 * and a number into a string: so `"event_time": null` would be 1970, and a `sequence` sent as a number of 19
 * digits would already have lost its last ones in JSON.parse, making two pushes one. Checked before ajv: a number
 * field takes a number or a decimal string; a string field takes a string, or a number only when it is an
 * integer written exactly.
 */
interface Shape {
  readonly numbers: readonly { readonly key: string }[];
  readonly strings: readonly {
    readonly key: string;
    readonly required: boolean;
    /** `null` reads as "" where "" is valid (a push path may be empty), as ajv did. */
    readonly emptyAllowed: boolean;
  }[];
  readonly lists: readonly { readonly key: string; readonly items: Shape }[];
  /**
   * Optional number fields without a default (durations, sizes, `appid`): an invalid value is left out rather
   * than refusing the event. One with a default (`errcode`) means something when sent, so it stays strict.
   */
  readonly optionalNumbers: ReadonlySet<string>;
}

const DECIMAL = /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/;

/**
 * What a number field may hold before ajv: nothing, a finite number, or a decimal string of one. ajv coerces
 * `"1e999"` to Infinity and checks `minimum` and `maximum` only on finite numbers, so an infinite count or time
 * would pass every bound.
 */
function numberOk(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value === 'number') return Number.isFinite(value);
  return typeof value === 'string' && DECIMAL.test(value) && Number.isFinite(Number(value));
}

/** What a string field may hold before ajv: nothing, a string, or a whole number JSON kept exactly. */
function stringOk(value: unknown): boolean {
  return value === undefined || typeof value === 'string' || Number.isSafeInteger(value);
}

function shapeOf(schema: ObjectSchema): Shape {
  const required = new Set(schema.required ?? []);
  const entries = Object.entries(schema.properties ?? {});
  const numbers = entries.filter(([, p]) => p.type === 'integer' || p.type === 'number');
  return {
    numbers: numbers.map(([key]) => ({ key })),
    strings: entries
      .filter(([, p]) => p.type === 'string')
      .map(([key, p]) => ({ key, required: required.has(key), emptyAllowed: !((p.minLength ?? 0) > 0) })),
    lists: entries.flatMap(([key, p]) =>
      p.type === 'array' && p.items?.properties ? [{ key, items: shapeOf(p.items) }] : [],
    ),
    optionalNumbers: new Set(
      numbers.filter(([key, p]) => !required.has(key) && !('default' in p)).map(([key]) => key),
    ),
  };
}

/** Refuses (or, for an optional number, leaves out) what coercion would turn into a wrong value. */
function checkTypes(
  payload: Record<string, unknown>,
  shape: Shape,
  path: string,
): ValidationFailure | undefined {
  for (const { key } of shape.numbers) {
    if (numberOk(payload[key])) continue;
    if (shape.optionalNumbers.has(key)) {
      delete payload[key];
      continue;
    }
    return new ValidationFailure(path + key, `${path + key} must be a number`);
  }
  for (const { key, required, emptyAllowed } of shape.strings) {
    const value = payload[key];
    if (stringOk(value)) continue;
    if (value === null && (emptyAllowed || !required)) {
      if (emptyAllowed) payload[key] = '';
      else delete payload[key];
      continue;
    }
    const detail = typeof value === 'number' ? ' (a number this large or not whole loses digits)' : '';
    return new ValidationFailure(path + key, `${path + key} must be a string${detail}`);
  }
  for (const { key, items } of shape.lists) {
    const list = payload[key];
    if (!Array.isArray(list)) continue;
    for (let i = 0; i < list.length; i++) {
      const item: unknown = list[i];
      if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
      const problem = checkTypes(item as Record<string, unknown>, items, `${path}${key}[${i}].`);
      if (problem) return problem;
    }
  }
  return undefined;
}

/**
 * The body of a function that tells, fast, whether checkTypes has anything to do with a payload: the same tests,
 * with every field read by its own name, so that each read stays monomorphic (one loop reading fields by a
 * variable name cost a 321 report ~1 µs in the service, where payloads of every kind pass through it). Names
 * come from our schemas.
 */
function screenSource(shape: Shape, object: string, depth = 0): string {
  const read = (key: string) => `${object}[${JSON.stringify(key)}]`;
  const lines = [
    ...shape.numbers.map(({ key }) => `if (!numberOk(${read(key)})) return true;`),
    ...shape.strings.map(({ key }) => `if (!stringOk(${read(key)})) return true;`),
    ...shape.lists.map(({ key, items }) => {
      const item = `item${depth}`;
      return `v = ${read(key)}; if (Array.isArray(v)) for (const ${item} of v) if (typeof ${item} === 'object' && ${item} !== null) { ${screenSource(items, item, depth + 1)} }`;
    }),
  ];
  return lines.join('\n');
}

function screen(shape: Shape): (payload: Record<string, unknown>) => boolean {
  const test = new Function(
    'p',
    'numberOk',
    'stringOk',
    `let v;\n${screenSource(shape, 'p')}\nreturn false;`,
  ) as (payload: Record<string, unknown>, n: typeof numberOk, s: typeof stringOk) => boolean;
  return (payload) => test(payload, numberOk, stringOk);
}

/** The top-level field an ajv error is about ('' for the body itself or a nested value). */
function topField(error: ErrorObject): string {
  const parts = error.instancePath.split('/');
  return parts.length === 2 ? parts[1]! : '';
}

/**
 * Compiles a schema once, at start-up; the returned function normalises the payload in place. A field that is
 * neither required nor part of the event's identity (a duration, a size, `appid`) never refuses the event: an
 * invalid value of it is left out, as if it had not been sent, and its default (if any) applies.
 */
export function compile<T>(
  schema: ObjectSchema,
): (payload: Record<string, unknown>) => ValidationFailure | T {
  const validate: ValidateFunction = ajv.compile(schema);
  const shape = shapeOf(schema);
  const suspicious = screen(shape);
  return (payload) => {
    const problem = suspicious(payload) ? checkTypes(payload, shape, '') : undefined;
    if (problem) return problem;
    for (let left = shape.optionalNumbers.size; ; left--) {
      if (validate(payload)) return payload as T;
      // ajv reports a failed anyOf's branch errors before the anyOf itself: the anyOf says what is wrong.
      const errors = validate.errors ?? [];
      const error = errors.find((e) => e.keyword === 'anyOf') ?? errors[0];
      const field = error ? topField(error) : '';
      if (left === 0 || !shape.optionalNumbers.has(field)) return describe(error);
      delete payload[field];
    }
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
    error.keyword === 'pattern'
      ? Object.values(PATTERNS).find(({ pattern }) => pattern === error.params['pattern'])?.says
      : error.message;
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
    // An assignment to "__proto__" would set the copy's prototype, whose fields no check sees; no field has that name.
    if (key === '__proto__') continue;
    out[key] = body[rawKey];
  }
  return out;
}
