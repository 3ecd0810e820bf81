/**
 * Tencent's numeric codes turned into bounded, readable label values (PROTOCOL.md §3). These tables are the
 * README's tables; a test keeps them in step.
 */

/** `abnormal_event[].type` of event 321 → `exception` label. Types 12–16 exist only on current pages. */
export const EXCEPTION_NAMES: readonly string[] = [
  'other', // 0: any type we do not know
  'video_timestamp_rollback',
  'audio_timestamp_rollback',
  'video_timestamp_jump',
  'audio_timestamp_jump',
  'chunk_size_too_big',
  'video_frame_interval_too_long',
  'audio_frame_interval_too_long',
  'video_codec_changed',
  'audio_codec_changed',
  'video_missing_codec_header',
  'audio_missing_codec_header',
  'audio_timestamp_interval_too_long',
  'uncommon_codec',
  'video_header_unparseable',
  'video_frame_rate_too_low',
  'gop_too_large',
];

export const EXCEPTION_DESCRIPTIONS: readonly string[] = [
  'A type this version does not know',
  'The video timestamp moved backwards',
  'The audio timestamp moved backwards',
  'The video timestamp jumped forward (over 1 s)',
  'The audio timestamp jumped forward (over 1 s)',
  'RTMP chunk size too big (over 8192)',
  'Two consecutive video frames arrived too far apart',
  'Two consecutive audio frames arrived too far apart',
  'The video codec changed',
  'The audio codec changed',
  'A video frame arrived before its codec header',
  'An audio frame arrived before its codec header',
  'The interval between audio frame timestamps is too long',
  'Uncommon audio/video codec format',
  'The video header cannot be parsed',
  'The video frame rate is too low',
  'The GOP is too large (over 10 s)',
];

/** Index into EXCEPTION_NAMES; unknown types fold into 0 (`other`) to keep the label bounded. */
export function exceptionIndex(type: number): number {
  return Number.isInteger(type) && type >= 1 && type < EXCEPTION_NAMES.length ? type : 0;
}

/** Disconnect errcode classes, grouped as on intl 267/38081 and 267/31083. */
export const ERRCODE_REASONS: Readonly<Record<string, readonly number[]>> = {
  pusher_stopped: [1, 2, 3, 4, 35],
  internal: [5, 9, 10, 11, 24, 38],
  rtmp_content: [6, 23],
  frame_too_large: [7],
  no_data: [8, 20],
  client_network: [12, 13, 14, 15, 16, 17],
  auth: [18],
  third_party_auth: [19],
  api_stopped: [21],
  amf: [33],
  not_played: [37],
  over_limit: [39],
  unknown: [0, 22, 25, 26, 27, 28, 29, 30, 31, 32, 34, 36],
};

export const ERRCODE_MAX = 39;

const reasonByCode: string[] = [];
for (const [reason, codes] of Object.entries(ERRCODE_REASONS))
  for (const code of codes) reasonByCode[code] = reason;

/** `errcode` → bounded `errcode` and `reason` labels: "0"–"39", anything else "other" (reason `unknown`). */
export function errcodeLabels(errcode: number): { readonly errcode: string; readonly reason: string } {
  if (Number.isInteger(errcode) && errcode >= 0 && errcode <= ERRCODE_MAX) {
    return { errcode: String(errcode), reason: reasonByCode[errcode] ?? 'unknown' };
  }
  return { errcode: 'other', reason: 'unknown' };
}
