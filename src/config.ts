import { Ajv, type ErrorObject } from 'ajv';

/**
 * Every environment variable the service reads, with its default and meaning. This table is the single source
 * for parsing, validation and the README's table (a test checks that the README lists each one).
 */
export const ENV_VARS = {
  TENCENT_LIVE_CALLBACK_KEYS: {
    default: '',
    doc: 'Comma-separated callback keys. The first is current; the others are accepted during a key rotation.',
  },
  TENCENT_LIVE_ALLOW_UNSIGNED: {
    default: 'false',
    doc: '`true` to accept callbacks without verifying `sign` (only when no key is set). Refused by default.',
  },
  TENCENT_LIVE_CALLBACK_LISTEN: {
    default: '0.0.0.0:8080',
    doc: 'host:port of the public callback listener.',
  },
  TENCENT_LIVE_CALLBACK_PATH: { default: '/callback', doc: 'Path that accepts `POST` callbacks.' },
  TENCENT_LIVE_METRICS_LISTEN: {
    default: '127.0.0.1:9877',
    doc: 'host:port of the private listener for `/metrics`, `/-/healthy` and `/-/ready`.',
  },
  TENCENT_LIVE_STORE: {
    default: 'sqlite:./data/tencent-live.db',
    doc: '`sqlite:<path>` (embedded, one process) or `redis://…` (several replicas; not implemented yet).',
  },
  TENCENT_LIVE_LOG_LEVEL: {
    default: 'info',
    doc: 'pino level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.',
  },
  TENCENT_LIVE_CLOCK_SKEW_SECONDS: {
    default: '60',
    doc: 'Tolerance for clock differences: a signature is still accepted this long after its `t`.',
  },
  TENCENT_LIVE_SIGNATURE_MAX_AHEAD_SECONDS: {
    default: '3600',
    doc: 'A `t` further than this in the future is refused (`not_yet_valid`); Tencent sends now + 600.',
  },
  TENCENT_LIVE_DEDUP_TTL_SECONDS: {
    default: '1800',
    doc: 'How long an event is remembered for de-duplication (Tencent retries for ~13 minutes; at least 900).',
  },
  TENCENT_LIVE_SESSION_MAX_AGE_SECONDS: {
    default: '86400',
    doc: 'A push session with no news (start or exception report) for this long is expired.',
  },
  TENCENT_LIVE_SERIES_GRACE_SECONDS: {
    default: '300',
    doc: 'Per-stream series stay this long after their stream ended (`stream_up` shows 0 meanwhile).',
  },
  TENCENT_LIVE_SERIES_IDLE_SECONDS: {
    default: '3600',
    doc: 'Per-stream series of a stream with no live session and no news for this long are dropped.',
  },
  TENCENT_LIVE_MAX_TRACKED_STREAMS: {
    default: '50000',
    doc: 'Cap on streams holding per-stream series; beyond it new streams get none (`reason="overflow"`), and a live one gets them at an upkeep once there is room.',
  },
  TENCENT_LIVE_BODY_LIMIT_BYTES: {
    default: '65536',
    doc: 'Largest accepted callback body; larger ones get 413.',
  },
  TENCENT_LIVE_MAX_SESSIONS: {
    default: '200000',
    doc: 'Cap on live push sessions; a start beyond it is counted but opens none (`tencent_live_sessions_refused_total`).',
  },
  TENCENT_LIVE_MAX_APPS: {
    default: '1000',
    doc: 'Cap on distinct `domain`/`app_name` label pairs; further pairs are counted under `"_overflow"` (`tencent_live_apps_overflow_total`).',
  },
  TENCENT_LIVE_DOMAINS: {
    default: '',
    doc: 'Comma-separated push domains to account for; callbacks for others are acknowledged as `ignored`. Empty: all.',
  },
  TENCENT_LIVE_UNSIGNED_EVENT_TYPES: {
    default: '',
    doc: 'Comma-separated `event_type`s accepted without `t`/`sign` although keys are set (e.g. `321`, whose older format is unsigned).',
  },
  TENCENT_LIVE_SHUTDOWN_TIMEOUT_SECONDS: {
    default: '10',
    doc: 'On SIGTERM/SIGINT, how long in-flight requests may take before the process exits anyway.',
  },
  TENCENT_LIVE_SHUTDOWN_DELAY_SECONDS: {
    default: '0',
    doc: 'On SIGTERM/SIGINT, how long `/-/ready` answers 503 while callbacks are still taken, so that a load balancer stops sending first.',
  },
} as const;

export type EnvVarName = keyof typeof ENV_VARS;

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export type StoreConfig =
  { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'redis'; readonly url: string };

export interface Config {
  readonly callbackKeys: readonly string[];
  readonly allowUnsigned: boolean;
  readonly callbackListen: ListenAddress;
  readonly callbackPath: string;
  readonly metricsListen: ListenAddress;
  readonly store: StoreConfig;
  readonly logLevel: string;
  readonly clockSkewSeconds: number;
  readonly signatureMaxAheadSeconds: number;
  readonly dedupTtlSeconds: number;
  readonly sessionMaxAgeSeconds: number;
  readonly seriesGraceSeconds: number;
  readonly seriesIdleSeconds: number;
  readonly maxTrackedStreams: number;
  readonly bodyLimitBytes: number;
  readonly maxSessions: number;
  /** Distinct (domain, app_name) label pairs in the metrics (TENCENT_LIVE_MAX_APPS). */
  readonly maxApps: number;
  /** Push domains to account for; empty means every domain. */
  readonly domains: readonly string[];
  readonly unsignedEventTypes: readonly number[];
  readonly shutdownTimeoutSeconds: number;
  /** How long readiness fails before the listeners close on shutdown (TENCENT_LIVE_SHUTDOWN_DELAY_SECONDS). */
  readonly shutdownDelaySeconds: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LISTEN = '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9_.-]+):([0-9]{1,5})$';
const seconds = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum });

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // Tencent: "CallbackKey ≤ 32 letters/digits" (API CreateLiveCallbackTemplate); we also allow - and _.
    TENCENT_LIVE_CALLBACK_KEYS: {
      type: 'string',
      pattern: '^([A-Za-z0-9_-]{1,64}(,[A-Za-z0-9_-]{1,64})*)?$',
    },
    TENCENT_LIVE_ALLOW_UNSIGNED: { type: 'string', enum: ['true', 'false'] },
    TENCENT_LIVE_CALLBACK_LISTEN: { type: 'string', pattern: LISTEN },
    TENCENT_LIVE_CALLBACK_PATH: { type: 'string', pattern: '^/[A-Za-z0-9/_.~-]*$', maxLength: 200 },
    TENCENT_LIVE_METRICS_LISTEN: { type: 'string', pattern: LISTEN },
    TENCENT_LIVE_STORE: { type: 'string', pattern: '^(sqlite:.+|rediss?://.+)$' },
    TENCENT_LIVE_LOG_LEVEL: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    TENCENT_LIVE_CLOCK_SKEW_SECONDS: seconds(0, 3600),
    TENCENT_LIVE_SIGNATURE_MAX_AHEAD_SECONDS: seconds(60, 7 * 86400),
    // Tencent retries for ~13 minutes (PROTOCOL.md §1): a shorter memory would count retries twice.
    TENCENT_LIVE_DEDUP_TTL_SECONDS: seconds(900, 7 * 86400),
    TENCENT_LIVE_SESSION_MAX_AGE_SECONDS: seconds(60, 30 * 86400),
    TENCENT_LIVE_SERIES_GRACE_SECONDS: seconds(0, 86400),
    TENCENT_LIVE_SERIES_IDLE_SECONDS: seconds(60, 30 * 86400),
    TENCENT_LIVE_MAX_TRACKED_STREAMS: { type: 'integer', minimum: 1, maximum: 10_000_000 },
    TENCENT_LIVE_BODY_LIMIT_BYTES: { type: 'integer', minimum: 1024, maximum: 16 * 1024 * 1024 },
    TENCENT_LIVE_MAX_SESSIONS: { type: 'integer', minimum: 1, maximum: 100_000_000 },
    TENCENT_LIVE_MAX_APPS: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    TENCENT_LIVE_DOMAINS: { type: 'string', pattern: '^([^,\\s]+(,[^,\\s]+)*)?$' },
    TENCENT_LIVE_UNSIGNED_EVENT_TYPES: { type: 'string', pattern: '^([0-9]{1,6}(,[0-9]{1,6})*)?$' },
    TENCENT_LIVE_SHUTDOWN_TIMEOUT_SECONDS: seconds(1, 600),
    TENCENT_LIVE_SHUTDOWN_DELAY_SECONDS: seconds(0, 300),
  },
};

const ajv = new Ajv({ allErrors: true, coerceTypes: true });
const validateEnv = ajv.compile<Record<EnvVarName, string | number>>(schema);

function describe(error: ErrorObject, rawValue: ReadonlyMap<string, string>): string {
  if (error.keyword === 'additionalProperties') {
    const name = String(error.params['additionalProperty']);
    return `${name}: unknown variable (known: ${Object.keys(ENV_VARS).join(', ')})`;
  }
  const name = error.instancePath.slice(1);
  // The keys are secrets: an error names the variable, never echoes its value.
  const given =
    name === 'TENCENT_LIVE_CALLBACK_KEYS' ? 'the value' : JSON.stringify(rawValue.get(name) ?? '');
  if (error.keyword === 'pattern') return `${name}: ${given} is not of the expected form (${hint(name)})`;
  return `${name}: ${given} ${error.message ?? 'is invalid'}`;
}

function hint(name: string): string {
  return accepted(name as EnvVarName);
}

/** The forms of the variables whose schema is a pattern, in words. */
const FORMS: Partial<Record<EnvVarName, string>> = {
  TENCENT_LIVE_CALLBACK_KEYS: 'comma-separated keys of 1–64 letters, digits, - and _',
  TENCENT_LIVE_CALLBACK_LISTEN: 'host:port, e.g. 0.0.0.0:8080',
  TENCENT_LIVE_CALLBACK_PATH: '/ and letters, digits, /_.~-; at most 200 characters',
  TENCENT_LIVE_METRICS_LISTEN: 'host:port, e.g. 127.0.0.1:9877',
  TENCENT_LIVE_STORE: 'sqlite:PATH or redis://host:port',
  TENCENT_LIVE_DOMAINS: 'comma-separated domains, no spaces',
  TENCENT_LIVE_UNSIGNED_EVENT_TYPES: 'comma-separated event_type numbers',
};

/**
 * What a variable accepts, in words: the README's table says the same (a test checks), and so does the error
 * when a value is not of that form.
 */
export function accepted(name: EnvVarName): string {
  const rule = schema.properties[name] as {
    enum?: string[];
    type?: string;
    minimum?: number;
    maximum?: number;
  };
  if (rule.enum) return rule.enum.join(', ');
  if (rule.type === 'integer') return `${rule.minimum}–${rule.maximum}`;
  return FORMS[name] ?? 'see the README';
}

function list(value: string | number): string[] {
  return String(value)
    .split(',')
    .filter((item) => item.length > 0);
}

function listen(value: string, name: string): ListenAddress {
  const match = new RegExp(LISTEN).exec(value);
  const port = Number(match?.[2]);
  if (!match || port > 65535)
    throw new ConfigError(`${name}: port of ${JSON.stringify(value)} is out of range`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * Reads the environment once: applies defaults, rejects unknown `TENCENT_LIVE_*` variables (a typo would
 * otherwise silently fall back to a default) and invalid values, naming the variable. The result is frozen.
 */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const input: Record<string, string | number> = {};
  const rawValue = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('TENCENT_LIVE_') && value !== undefined) {
      input[name] = value.trim();
      rawValue.set(name, value);
    }
  }
  for (const [name, spec] of Object.entries(ENV_VARS)) {
    if (input[name] === undefined || input[name] === '') input[name] = spec.default;
  }
  // ajv would coerce "0x3c" or "1e3" into numbers: integers must be written as plain digits.
  const notDigits = Object.entries(schema.properties)
    .filter(([name, spec]) => 'type' in spec && spec.type === 'integer' && !/^\d+$/.test(String(input[name])))
    .map(([name]) => `${name}: ${JSON.stringify(rawValue.get(name))} must be a whole number (digits only)`);
  const valid = validateEnv(input);
  if (!valid || notDigits.length > 0) {
    const messages = [
      ...notDigits,
      ...(validateEnv.errors ?? [])
        .map((error) => describe(error, rawValue))
        .filter((message) => !notDigits.some((n) => message.startsWith(n.slice(0, n.indexOf(':') + 1)))),
    ];
    throw new ConfigError(`invalid configuration:\n  ${messages.join('\n  ')}`);
  }
  const v = input as Record<EnvVarName, string | number>;
  const keys = list(v.TENCENT_LIVE_CALLBACK_KEYS);
  const allowUnsigned = v.TENCENT_LIVE_ALLOW_UNSIGNED === 'true';
  if (keys.length === 0 && !allowUnsigned) {
    throw new ConfigError(
      'TENCENT_LIVE_CALLBACK_KEYS: no callback key set. Set the key of your Tencent callback template, ' +
        'or TENCENT_LIVE_ALLOW_UNSIGNED=true to accept unsigned callbacks (anyone could then forge them).',
    );
  }
  if (keys.length > 0 && allowUnsigned) {
    throw new ConfigError(
      'TENCENT_LIVE_ALLOW_UNSIGNED: true contradicts TENCENT_LIVE_CALLBACK_KEYS being set; choose one.',
    );
  }
  const storeSpec = String(v.TENCENT_LIVE_STORE);
  const store: StoreConfig = storeSpec.startsWith('sqlite:')
    ? { kind: 'sqlite', path: storeSpec.slice('sqlite:'.length) }
    : { kind: 'redis', url: storeSpec };
  const callbackListen = listen(String(v.TENCENT_LIVE_CALLBACK_LISTEN), 'TENCENT_LIVE_CALLBACK_LISTEN');
  const metricsListen = listen(String(v.TENCENT_LIVE_METRICS_LISTEN), 'TENCENT_LIVE_METRICS_LISTEN');
  const wildcard = (host: string) => host === '0.0.0.0' || host === '::';
  if (
    callbackListen.port !== 0 &&
    callbackListen.port === metricsListen.port &&
    (callbackListen.host === metricsListen.host ||
      wildcard(callbackListen.host) ||
      wildcard(metricsListen.host))
  ) {
    throw new ConfigError(
      'TENCENT_LIVE_METRICS_LISTEN: must differ from TENCENT_LIVE_CALLBACK_LISTEN (metrics stay private)',
    );
  }
  return Object.freeze({
    callbackKeys: Object.freeze(keys),
    allowUnsigned,
    callbackListen: Object.freeze(callbackListen),
    callbackPath: String(v.TENCENT_LIVE_CALLBACK_PATH),
    metricsListen: Object.freeze(metricsListen),
    store: Object.freeze(store),
    logLevel: String(v.TENCENT_LIVE_LOG_LEVEL),
    clockSkewSeconds: Number(v.TENCENT_LIVE_CLOCK_SKEW_SECONDS),
    signatureMaxAheadSeconds: Number(v.TENCENT_LIVE_SIGNATURE_MAX_AHEAD_SECONDS),
    dedupTtlSeconds: Number(v.TENCENT_LIVE_DEDUP_TTL_SECONDS),
    sessionMaxAgeSeconds: Number(v.TENCENT_LIVE_SESSION_MAX_AGE_SECONDS),
    seriesGraceSeconds: Number(v.TENCENT_LIVE_SERIES_GRACE_SECONDS),
    seriesIdleSeconds: Number(v.TENCENT_LIVE_SERIES_IDLE_SECONDS),
    maxTrackedStreams: Number(v.TENCENT_LIVE_MAX_TRACKED_STREAMS),
    bodyLimitBytes: Number(v.TENCENT_LIVE_BODY_LIMIT_BYTES),
    maxSessions: Number(v.TENCENT_LIVE_MAX_SESSIONS),
    maxApps: Number(v.TENCENT_LIVE_MAX_APPS),
    domains: Object.freeze(list(v.TENCENT_LIVE_DOMAINS)),
    unsignedEventTypes: Object.freeze(list(v.TENCENT_LIVE_UNSIGNED_EVENT_TYPES).map(Number)),
    shutdownTimeoutSeconds: Number(v.TENCENT_LIVE_SHUTDOWN_TIMEOUT_SECONDS),
    shutdownDelaySeconds: Number(v.TENCENT_LIVE_SHUTDOWN_DELAY_SECONDS),
  });
}
