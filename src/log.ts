import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs. Callback keys and `sign` must never reach a line (PROTOCOL.md §2): nothing logs a
 * body or the config's keys, and these paths are redacted in case a future line does.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'tencent-live-exporter' },
      redact: {
        paths: ['sign', '*.sign', 'key', '*.key', 'keys', '*.keys', 'callbackKeys', '*.callbackKeys'],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
