/**
 * JSON schemas of the callback kinds we process (PROTOCOL.md §3). Lenient where Tencent is inconsistent:
 * numbers may arrive as strings (ajv coerces), unknown keys are ignored, `appid` is optional (snapshots have
 * none). Strict where it matters: the stream identity (it becomes Prometheus labels and state keys) must be
 * present, non-empty, bounded and free of control characters; counts and times must be numbers.
 */

/**
 * Each pattern, and what its refusal says (validate.ts). Patterns run with ajv's `u` flag, so a surrogate pair
 * (an emoji) is one code point and only a lone UTF-16 surrogate falls in \\ud800-\\udfff. A lone surrogate
 * becomes U+FFFD in a label or in the UTF-8 hashed into a de-duplication key, so two distinct values would become
 * one label value, or one event.
 */
export const PATTERNS = {
  label: {
    pattern: '^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]*$',
    says: 'must not contain control characters or unpaired UTF-16 surrogates',
  },
  identity: {
    pattern: '^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]+$',
    says: 'must not be empty or contain control characters or unpaired UTF-16 surrogates',
  },
  sequence: { pattern: '^[0-9A-Za-z_.-]*$', says: 'must hold only letters, digits, "_", "." and "-"' },
  text: { pattern: '^[^\\ud800-\\udfff]*$', says: 'must not contain unpaired UTF-16 surrogates' },
} as const;

const IDENTITY = { type: 'string', minLength: 1, maxLength: 256, pattern: PATTERNS.identity.pattern };
/** A label that may be empty (a push path can be), still bounded and free of control characters. */
const LABEL = { type: 'string', maxLength: 256, pattern: PATTERNS.label.pattern };
const OPTIONAL_LABEL = { ...LABEL, default: '' };
const SEQUENCE = { type: 'string', maxLength: 64, pattern: PATTERNS.sequence.pattern };
/** Free text hashed into a de-duplication key (a file id, a picture URL). */
const TEXT = { type: 'string', pattern: PATTERNS.text.pattern };
const UNIX_SECONDS = { type: 'integer', minimum: 0, maximum: 99_999_999_999 };
const COUNT = { type: 'integer', minimum: 0, maximum: 1_000_000_000 };

export const pushSchema = {
  $id: 'push',
  type: 'object',
  required: ['event_type', 'app', 'appname', 'stream_id', 'sequence', 'event_time'],
  properties: {
    event_type: { type: 'integer', enum: [0, 1] },
    app: IDENTITY,
    appname: LABEL,
    stream_id: IDENTITY,
    sequence: { ...SEQUENCE, minLength: 1 },
    event_time: UNIX_SECONDS,
    errcode: { type: 'integer', default: 0 },
    // ms. Pushes run for months; beyond ten years the value is noise, left out like any invalid optional number.
    push_duration: { type: 'integer', minimum: 0, maximum: 315_360_000_000 },
    appid: { type: 'integer' },
  },
} as const;

export const pushExceptionSchema = {
  $id: 'push_exception',
  type: 'object',
  required: ['event_type', 'domain', 'stream_id', 'data_time', 'abnormal_event'],
  properties: {
    event_type: { type: 'integer', const: 321 },
    domain: IDENTITY,
    path: OPTIONAL_LABEL,
    stream_id: IDENTITY,
    sequence: { ...SEQUENCE, default: '' },
    data_time: { type: 'integer', minimum: 0, maximum: 99_999_999_999_999 },
    report_interval: { type: 'integer', minimum: 0 },
    abnormal_event: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        required: ['type', 'count'],
        properties: { type: { type: 'integer', minimum: 0, maximum: 1_000_000 }, count: COUNT },
      },
    },
    appid: { type: 'integer' },
  },
} as const;

export const recordSchema = {
  $id: 'record',
  type: 'object',
  required: ['event_type', 'stream_id', 'file_id'],
  properties: {
    event_type: { type: 'integer', const: 100 },
    app: OPTIONAL_LABEL,
    appname: OPTIONAL_LABEL,
    stream_id: IDENTITY,
    file_id: { ...TEXT, minLength: 1, maxLength: 256 },
    end_time: UNIX_SECONDS,
    duration: { type: 'number', minimum: 0 },
    file_size: { type: 'number', minimum: 0 },
    appid: { type: 'integer' },
  },
} as const;

export const snapshotSchema = {
  $id: 'snapshot',
  type: 'object',
  required: ['event_type', 'stream_id', 'create_time'],
  anyOf: [{ required: ['pic_url'] }, { required: ['pic_full_url'] }],
  properties: {
    event_type: { type: 'integer', const: 200 },
    app: OPTIONAL_LABEL,
    appname: OPTIONAL_LABEL,
    stream_id: IDENTITY,
    create_time: UNIX_SECONDS,
    pic_url: { ...TEXT, maxLength: 2048 },
    pic_full_url: { ...TEXT, maxLength: 2048 },
    width: { type: 'integer', minimum: 0 },
    height: { type: 'integer', minimum: 0 },
  },
} as const;
