#!/usr/bin/env node
/**
 * The container's HEALTHCHECK: asks the private listener's `/-/ready`, wherever TENCENT_LIVE_METRICS_LISTEN
 * put it. Exit 0 when ready, 1 otherwise.
 */
import { ENV_VARS } from '../config.js';

// Trimmed, and empty meaning the default, as the service reads it (loadConfig).
const listen =
  process.env['TENCENT_LIVE_METRICS_LISTEN']?.trim() || ENV_VARS.TENCENT_LIVE_METRICS_LISTEN.default;
const at = listen.lastIndexOf(':');
const rawHost = listen.slice(0, at);
const host = rawHost === '0.0.0.0' || rawHost === '' ? '127.0.0.1' : rawHost === '[::]' ? '[::1]' : rawHost;
const url = `http://${host}:${listen.slice(at + 1)}/-/ready`;

fetch(url, { signal: AbortSignal.timeout(2500) }).then(
  (response) => process.exit(response.ok ? 0 : 1),
  () => process.exit(1),
);
