import { createHash } from 'node:crypto';

/**
 * Pure builders of unsigned Tencent CSS callback payloads, shaped like the samples in Tencent's documentation
 * (fixtures/tencent-docs/) and the fields listed in PROTOCOL.md: every field Tencent sends, including the
 * undocumented ones (`idc_id`, `interface`, `timeout`, `event_key`, `customer_visible`). Sign them with
 * `signPayload` from src/verify/sign.ts. The builders never read the clock: pass `eventTime` (Unix seconds).
 */

/** Default event time when the caller passes none: a fixed instant, so that builders stay pure. */
export const DEFAULT_EVENT_TIME = 1_700_000_000;

export const EVENT_PUSH_STOP = 0;
export const EVENT_PUSH_START = 1;
export const EVENT_RECORD = 100;
export const EVENT_SNAPSHOT = 200;
export const EVENT_PUSH_EXCEPTION = 321;

/** Fields that identify one stream; shared by every builder. */
export interface StreamOptions {
  /** Push domain (`app` in 0/1/100/200, `domain` in 321). */
  domain?: string;
  /** Push path (`appname` in 0/1/100/200, `path` in 321), usually `live`. */
  appName?: string;
  streamId?: string;
  appid?: number;
  streamParam?: string;
  userIp?: string;
}

export interface PushStartOptions extends StreamOptions {
  /** 18–19 digit string shared by a push and its disconnect; see `sequenceFor`. */
  sequence?: string;
  /** Unix seconds. */
  eventTime?: number;
  /** IP of Tencent's access node. */
  node?: string;
  setId?: number;
  idcId?: number;
  width?: number;
  height?: number;
}

export interface PushStopOptions extends PushStartOptions {
  /** Disconnect reason code, 0–39 in Tencent's console (PROTOCOL.md §3.1). */
  errcode?: number;
  /** Defaults to a wording Tencent has used for `errcode`. */
  errmsg?: string;
  /** How long the push lasted, in ms. Defaults to (eventTime − startedAt) when `startedAt` is given, else 60 s. */
  pushDurationMs?: number;
  /** Unix seconds of the matching start, used to derive `push_duration`. */
  startedAt?: number;
}

export interface ExceptionCount {
  /** Abnormal event type (1–16 documented; other values are possible). */
  type: number;
  /** Occurrences within the report interval. */
  count: number;
}

export interface PushExceptionOptions extends StreamOptions {
  sequence?: string;
  /** Unix seconds; `data_time` is this in ms unless `dataTimeMs` is given. */
  eventTime?: number;
  dataTimeMs?: number;
  /** Defaults to one type-6 and one type-7 entry with count 2, like Tencent's sample. */
  exceptions?: ExceptionCount[];
  reportIntervalMs?: number;
  timeoutMs?: number;
  /** At most this many `detail[]` entries per type (Tencent's `count` can exceed `detail.length`). */
  maxDetails?: number;
}

export interface RecordOptions extends StreamOptions {
  /** Unix seconds at which the file ended (`end_time`). */
  eventTime?: number;
  durationSeconds?: number;
  fileId?: string;
  fileFormat?: 'hls' | 'flv' | 'mp4' | 'aac';
  fileSize?: number;
  taskId?: string;
}

export interface SnapshotOptions extends StreamOptions {
  /** Unix seconds (`create_time`). */
  eventTime?: number;
  width?: number;
  height?: number;
  fileSize?: number;
}

export interface PushEventPayload {
  app: string;
  appid: number;
  appname: string;
  channel_id: string;
  errcode: number;
  errmsg: string;
  event_time: number;
  event_type: typeof EVENT_PUSH_START | typeof EVENT_PUSH_STOP;
  set_id: number;
  idc_id: number;
  node: string;
  sequence: string;
  stream_id: string;
  stream_param: string;
  user_ip: string;
  width: number;
  height: number;
}

export type PushStartPayload = PushEventPayload & { event_type: typeof EVENT_PUSH_START };
export type PushStopPayload = PushEventPayload & {
  event_type: typeof EVENT_PUSH_STOP;
  push_duration: string;
};

export interface AbnormalEvent {
  type: number;
  count: number;
  detail: { desc: string; occur_time: number }[];
  type_desc_cn: string;
  type_desc_en: string;
  event_key: string;
  customer_visible: string;
}

export interface PushExceptionPayload {
  abnormal_event: AbnormalEvent[];
  appid: number;
  user_ip: string;
  data_time: number;
  domain: string;
  event_type: typeof EVENT_PUSH_EXCEPTION;
  interface: string;
  path: string;
  report_interval: number;
  sequence: string;
  stream_id: string;
  stream_param: string;
  timeout: number;
}

export interface RecordPayload {
  event_type: typeof EVENT_RECORD;
  appid: number;
  app: string;
  callback_ext: string;
  appname: string;
  stream_id: string;
  channel_id: string;
  file_id: string;
  record_file_id: string;
  file_format: string;
  task_id: string;
  start_time: number;
  end_time: number;
  start_time_usec: number;
  end_time_usec: number;
  duration: number;
  file_size: number;
  stream_param: string;
  video_url: string;
  media_start_time: number;
  record_bps: number;
}

/** Event 200 carries no `appid` (PROTOCOL.md §3). */
export interface SnapshotPayload {
  app: string;
  appname: string;
  channel_id: string;
  create_time: number;
  event_type: typeof EVENT_SNAPSHOT;
  file_size: number;
  height: number;
  pic_full_url: string;
  pic_url: string;
  stream_id: string;
  stream_param: string;
  width: number;
}

export type CallbackPayload =
  PushStartPayload | PushStopPayload | PushExceptionPayload | RecordPayload | SnapshotPayload;

const DEFAULTS = {
  domain: 'test.domain.com',
  appName: 'live',
  streamId: 'test_stream',
  appid: 12345678,
  streamParam: 'txSecret=f5828cd4a8a09109304b060172fb3960&txTime=665982e4',
  userIp: '119.29.94.245',
  node: '100.121.160.92',
} as const;

const SEQUENCE_MIN = 1_000_000_000_000_000_000n;
// Real sequences fit in a signed 64-bit integer ("6674468118806626493").
const SEQUENCE_SPAN = 9_223_372_036_854_775_807n - SEQUENCE_MIN;

/** A deterministic 19-digit `sequence` (below 2^63, like Tencent's) derived from any seed. */
export function sequenceFor(seed: string | number): string {
  const digest = createHash('sha256').update(String(seed)).digest();
  return (SEQUENCE_MIN + (digest.readBigUInt64BE(0) % SEQUENCE_SPAN)).toString();
}

/** Wordings Tencent has used for `errmsg` (seed 004 and the console's errcode table). */
const ERRMSG: Record<number, string> = {
  0: 'ok',
  1: 'recv rtmp deleteStream',
  2: 'recv rtmp closeStream',
  3: 'recv() return 0',
  4: 'recv() return error',
  5: 'internal error',
  7: 'rtmp message large than 1M',
  8: 'no data for a long time',
  12: 'send() return error',
  18: 'auth failed',
  20: 'no data for a long time',
  21: 'stream dropped by api',
};

export function errmsgFor(errcode: number): string {
  return ERRMSG[errcode] ?? 'live service internal error';
}

/** Descriptions of the 321 abnormal types: Chinese per seed 000, English per seed 002 and its sample. */
const ABNORMAL_TYPES: Record<number, { cn: string; en: string; detail: (i: number) => string }> = {
  1: {
    cn: '视频时间戳回退',
    en: 'video timestamp rollback',
    detail: (i) => `video dts rollback, diff=-${40 + i}(msec)`,
  },
  2: {
    cn: '音频时间戳回退',
    en: 'audio timestamp rollback',
    detail: (i) => `audio dts rollback, diff=-${23 + i}(msec)`,
  },
  3: {
    cn: '视频时间戳突然变大',
    en: 'video timestamp jump bigger than 1000(ms)',
    detail: (i) => `video dts jump, diff=${1500 + i}(msec)`,
  },
  4: {
    cn: '音频时间戳突然变大',
    en: 'audio timestamp jump bigger than 1000(ms)',
    detail: (i) => `audio dts jump, diff=${1400 + i}(msec)`,
  },
  5: {
    cn: 'chunk size 太大',
    en: 'chunk size bigger than 8192',
    detail: (i) => `chunk size too big, size=${16384 + i}`,
  },
  6: {
    cn: '视频帧到达时间差值大于1000ms',
    en: 'video frame arrive interval bigger than 1000(ms)',
    detail: (i) => `video frame arrive interval too long, interval=${3046 - 93 * i}(msec)`,
  },
  7: {
    cn: '音频帧到达时间差值大于1000ms',
    en: 'audio frame arrive interval bigger than 1000(ms)',
    detail: (i) => `audio frame arrive interval too long, interval=${3009 - 92 * i}(msec)`,
  },
  8: {
    cn: '视频编码类型发生变化',
    en: 'video codec changed',
    detail: () => 'video codec changed, h264 -> hevc',
  },
  9: {
    cn: '音频编码类型发生变化',
    en: 'audio codec changed',
    detail: () => 'audio codec changed, aac -> mp3',
  },
  10: {
    cn: '视频帧到来前没有 codec 头',
    en: 'no video codec header',
    detail: () => 'video frame before sequence header',
  },
  11: {
    cn: '音频帧到来前没有 codec 头',
    en: 'no audio codec header',
    detail: () => 'audio frame before sequence header',
  },
  12: {
    cn: '音频帧时间戳间隔过长',
    en: 'audio timestamp interval too long',
    detail: (i) => `audio timestamp interval too long, interval=${1200 + i}(msec)`,
  },
  13: { cn: '音视频编码格式不常见', en: 'uncommon codec', detail: () => 'uncommon codec, codec_id=12' },
  14: {
    cn: '视频头无法解析',
    en: 'video header unparseable',
    detail: () => 'parse video sequence header failed',
  },
  15: {
    cn: '视频帧率过低',
    en: 'video frame rate too low',
    detail: (i) => `video fps too low, fps=${2 + (i % 3)}`,
  },
  16: { cn: 'GOP 过大', en: 'gop bigger than 10(s)', detail: (i) => `gop too large, gop=${12000 + i}(msec)` },
};

function abnormalEvent(
  exception: ExceptionCount,
  dataTimeMs: number,
  intervalMs: number,
  maxDetails: number,
) {
  const known = ABNORMAL_TYPES[exception.type];
  const details = Math.max(0, Math.min(exception.count, maxDetails));
  const step = Math.floor(intervalMs / (details + 1));
  const detail = Array.from({ length: details }, (_, i) => ({
    desc: known ? known.detail(i) : `abnormal event type ${exception.type}`,
    occur_time: dataTimeMs - intervalMs + step * (i + 1) - exception.type,
  }));
  const event: AbnormalEvent = {
    type: exception.type,
    count: exception.count,
    detail,
    type_desc_cn: known ? known.cn : ' ',
    type_desc_en: known ? known.en : 'unknown abnormal event',
    event_key: '',
    customer_visible: 'true',
  };
  return event;
}

function pushEvent(o: PushStartOptions, eventType: 0 | 1): PushEventPayload {
  const streamId = o.streamId ?? DEFAULTS.streamId;
  return {
    app: o.domain ?? DEFAULTS.domain,
    appid: o.appid ?? DEFAULTS.appid,
    appname: o.appName ?? DEFAULTS.appName,
    channel_id: streamId,
    errcode: 0,
    errmsg: 'ok',
    event_time: o.eventTime ?? DEFAULT_EVENT_TIME,
    event_type: eventType,
    set_id: o.setId ?? 2,
    idc_id: o.idcId ?? 38,
    node: o.node ?? DEFAULTS.node,
    sequence: o.sequence ?? sequenceFor(streamId),
    stream_id: streamId,
    stream_param: o.streamParam ?? DEFAULTS.streamParam,
    user_ip: o.userIp ?? DEFAULTS.userIp,
    width: o.width ?? 0,
    height: o.height ?? 0,
  };
}

/** Event 1: a push started. */
export function pushStart(o: PushStartOptions = {}): PushStartPayload {
  return { ...pushEvent(o, EVENT_PUSH_START), event_type: EVENT_PUSH_START };
}

/** Event 0: a push stopped or was interrupted; `push_duration` is a string of ms, as Tencent sends it. */
export function pushStop(o: PushStopOptions = {}): PushStopPayload {
  const base = pushEvent(o, EVENT_PUSH_STOP);
  const errcode = o.errcode ?? 1;
  const durationMs =
    o.pushDurationMs ??
    (o.startedAt === undefined ? 60_000 : Math.max(0, base.event_time - o.startedAt) * 1000);
  return {
    ...base,
    event_type: EVENT_PUSH_STOP,
    errcode,
    errmsg: o.errmsg ?? errmsgFor(errcode),
    push_duration: String(Math.round(durationMs)),
  };
}

/** Event 321: abnormal events seen on a push during the last `report_interval` ms. */
export function pushException(o: PushExceptionOptions = {}): PushExceptionPayload {
  const streamId = o.streamId ?? DEFAULTS.streamId;
  const dataTimeMs = o.dataTimeMs ?? (o.eventTime ?? DEFAULT_EVENT_TIME) * 1000;
  const intervalMs = o.reportIntervalMs ?? 5000;
  const exceptions = o.exceptions ?? [
    { type: 6, count: 2 },
    { type: 7, count: 2 },
  ];
  return {
    abnormal_event: exceptions.map((e) => abnormalEvent(e, dataTimeMs, intervalMs, o.maxDetails ?? 3)),
    appid: o.appid ?? DEFAULTS.appid,
    user_ip: o.userIp ?? DEFAULTS.userIp,
    data_time: dataTimeMs,
    domain: o.domain ?? DEFAULTS.domain,
    event_type: EVENT_PUSH_EXCEPTION,
    interface: 'general_callback',
    path: o.appName ?? DEFAULTS.appName,
    report_interval: intervalMs,
    sequence: o.sequence ?? sequenceFor(streamId),
    stream_id: streamId,
    stream_param: o.streamParam ?? DEFAULTS.streamParam,
    timeout: o.timeoutMs ?? 5000,
  };
}

/** Event 100: a recording file is ready. */
export function recordFile(o: RecordOptions = {}): RecordPayload {
  const streamId = o.streamId ?? DEFAULTS.streamId;
  const appid = o.appid ?? DEFAULTS.appid;
  const end = o.eventTime ?? DEFAULT_EVENT_TIME;
  const duration = o.durationSeconds ?? 154;
  const fileId = o.fileId ?? sequenceFor(`file:${streamId}:${end}`).slice(0, 16);
  const fileFormat = o.fileFormat ?? 'hls';
  const extension = fileFormat === 'hls' ? 'm3u8' : fileFormat;
  return {
    event_type: EVENT_RECORD,
    appid,
    app: o.domain ?? DEFAULTS.domain,
    callback_ext: JSON.stringify({ video_codec: 'h264', resolution: '1280x720' }),
    appname: o.appName ?? DEFAULTS.appName,
    stream_id: streamId,
    channel_id: streamId,
    file_id: fileId,
    record_file_id: fileId,
    file_format: fileFormat,
    task_id: o.taskId ?? createHash('md5').update(`task:${streamId}:${end}`).digest('base64url'),
    start_time: end - duration,
    end_time: end,
    start_time_usec: 316441,
    end_time_usec: 618577,
    duration,
    file_size: o.fileSize ?? 277941079,
    stream_param: o.streamParam ?? DEFAULTS.streamParam,
    video_url: `http://${appid}.vod2.myqcloud.com/${fileId}/${streamId}/playlist.${extension}`,
    media_start_time: 135802,
    record_bps: 0,
  };
}

function hhmmss(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().slice(11, 19).replaceAll(':', '-');
}

/** Event 200: a screenshot was stored. */
export function snapshot(o: SnapshotOptions = {}): SnapshotPayload {
  const streamId = o.streamId ?? DEFAULTS.streamId;
  const created = o.eventTime ?? DEFAULT_EVENT_TIME;
  const width = o.width ?? 1280;
  const height = o.height ?? 720;
  const picUrl = `/${streamId}/${streamId}-screenshot-${hhmmss(created)}-${width}x${height}.jpg`;
  return {
    app: o.domain ?? DEFAULTS.domain,
    appname: o.appName ?? DEFAULTS.appName,
    channel_id: streamId,
    create_time: created,
    event_type: EVENT_SNAPSHOT,
    file_size: o.fileSize ?? 30670,
    height,
    pic_full_url: `http://testbucket-1234567890.cos.ap-guangzhou.myqcloud.com${picUrl}`,
    pic_url: picUrl,
    stream_id: streamId,
    stream_param: o.streamParam ?? DEFAULTS.streamParam,
    width,
  };
}
