#!/usr/bin/env node
import { parseArgs } from 'node:util';
import {
  pushException,
  pushStart,
  pushStop,
  recordFile,
  snapshot,
  type CallbackPayload,
  type ExceptionCount,
  type StreamOptions,
} from '../traffic/payloads.js';
import { postBody } from '../traffic/sender.js';
import { signPayload } from '../verify/sign.js';
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
  asUsageError,
  isEntryPoint,
  parseInteger,
  parseUrl,
  processIo,
  signingKey,
  run,
  type CliIo,
} from './common.js';

export const USAGE = `Usage: tencent-live-send --url URL --event EVENT [options]

Sends ONE Tencent CSS callback, signed like Tencent does (t = now + 600 s, sign = md5(key + t)),
prints the answer's status and body; exits 0 on HTTP 200, 1 otherwise, 2 on a usage error.

  --url URL          receiver, e.g. http://127.0.0.1:8080/callback (not needed with --print)
  --event EVENT      start | stop | exception | record | snapshot
  --key KEY          callback key; default: first key of TENCENT_LIVE_CALLBACK_KEYS
  --unsigned         send without t/sign
  --stream ID        stream_id (default test_stream)
  --domain DOMAIN    push domain (default test.domain.com)
  --app NAME         push path / appname (default live)
  --sequence DIGITS  push sequence (default derived from the stream, so a start and a stop match)
  --errcode N        disconnect errcode, stop only (default 1)
  --exceptions LIST  321 abnormal events as type:count,… (default 6:2,7:2), exception only
  --timeout MS       give up waiting for the answer after MS (default 20000)
  --print            print the signed JSON body and exit without sending
  -h, --help         show this help`;

const EVENTS = ['start', 'stop', 'exception', 'record', 'snapshot'] as const;
type EventName = (typeof EVENTS)[number];

function parseExceptions(value: string): ExceptionCount[] {
  return value.split(',').map((item) => {
    const match = /^\s*(\d+):(\d+)\s*$/.exec(item);
    if (!match || Number(match[2]) < 1) {
      throw new UsageError(`--exceptions must look like 6:2,7:1 (type:count, count ≥ 1), got "${value}"`);
    }
    return { type: Number(match[1]), count: Number(match[2]) };
  });
}

/** Builds the unsigned payload the flags describe. Exported for tests and other tools. */
export function buildPayload(
  event: EventName,
  stream: StreamOptions & { sequence?: string; errcode?: number; exceptions?: ExceptionCount[] },
  eventTime: number,
): CallbackPayload {
  const o = { ...stream, eventTime };
  switch (event) {
    case 'start':
      return pushStart(o);
    case 'stop':
      return pushStop(o);
    case 'exception':
      return pushException(o);
    case 'record':
      return recordFile(o);
    case 'snapshot':
      return snapshot(o);
  }
}

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        key: { type: 'string' },
        event: { type: 'string' },
        stream: { type: 'string' },
        domain: { type: 'string' },
        app: { type: 'string' },
        errcode: { type: 'string' },
        sequence: { type: 'string' },
        exceptions: { type: 'string' },
        timeout: { type: 'string' },
        unsigned: { type: 'boolean', default: false },
        print: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.stdout(USAGE);
      return EXIT_OK;
    }
    const event = values.event;
    if (event === undefined) throw new UsageError(`--event is required: one of ${EVENTS.join(', ')}`);
    if (!(EVENTS as readonly string[]).includes(event)) {
      throw new UsageError(`--event must be one of ${EVENTS.join(', ')}, got "${event}"`);
    }
    const errcode = parseInteger('--errcode', values.errcode, 0, 2 ** 31 - 1);
    if (errcode !== undefined && event !== 'stop')
      throw new UsageError('--errcode applies only to --event stop');
    if (values.exceptions !== undefined && event !== 'exception') {
      throw new UsageError('--exceptions applies only to --event exception');
    }
    if (values.sequence !== undefined && !/^\d{1,20}$/.test(values.sequence)) {
      throw new UsageError(`--sequence must be 1 to 20 digits, got "${values.sequence}"`);
    }
    for (const flag of ['stream', 'domain', 'app'] as const) {
      if (values[flag] !== undefined && values[flag].trim() === '')
        throw new UsageError(`--${flag} must not be empty`);
    }
    const timeoutMs = parseInteger('--timeout', values.timeout, 1);
    const key = signingKey(values, io.env);
    const url = values.print ? undefined : parseUrl('--url', values.url);

    const nowSeconds = Math.floor(io.now() / 1000);
    const payload = buildPayload(
      event as EventName,
      {
        streamId: values.stream,
        domain: values.domain,
        appName: values.app,
        sequence: values.sequence,
        errcode,
        exceptions: values.exceptions === undefined ? undefined : parseExceptions(values.exceptions),
      },
      nowSeconds,
    );
    const body = JSON.stringify(key === undefined ? payload : signPayload(payload, key, nowSeconds));
    if (url === undefined) {
      io.stdout(body);
      return EXIT_OK;
    }
    try {
      const answer = await postBody(url, body, { timeoutMs });
      io.stdout(`HTTP ${answer.status} ${answer.body}`);
      return answer.status === 200 ? EXIT_OK : EXIT_FAILED;
    } catch (error) {
      const code = (error as { code?: string }).code;
      io.stderr(`tencent-live-send: POST ${url.href} failed: ${code ?? (error as Error).message}`);
      return EXIT_FAILED;
    }
  } catch (error) {
    const usage = asUsageError(error);
    if (usage === undefined) throw error;
    io.stderr(`tencent-live-send: ${usage.message}\nTry --help.`);
    return EXIT_USAGE;
  }
}

if (isEntryPoint(import.meta.url)) run((argv) => main(argv));
