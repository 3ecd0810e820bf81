import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, ENV_VARS, loadConfig, type Config } from '../../src/config.js';

const KEYED = { TENCENT_LIVE_CALLBACK_KEYS: 'k1' };

/** The ConfigError thrown for `env`; fails when loading succeeds or throws anything else. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.name, 'ConfigError');
    return error;
  }
  assert.fail(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig defaults', () => {
  it('applies every documented default when only a key is set', () => {
    const expected: Config = {
      callbackKeys: ['k1'],
      allowUnsigned: false,
      callbackListen: { host: '0.0.0.0', port: 8080 },
      callbackPath: '/callback',
      metricsListen: { host: '127.0.0.1', port: 9877 },
      store: { kind: 'sqlite', path: './data/tencent-live.db' },
      logLevel: 'info',
      clockSkewSeconds: 60,
      signatureMaxAheadSeconds: 3600,
      dedupTtlSeconds: 1800,
      sessionMaxAgeSeconds: 86400,
      seriesGraceSeconds: 300,
      seriesIdleSeconds: 3600,
      maxTrackedStreams: 50000,
      bodyLimitBytes: 65536,
      maxSessions: 200000,
      maxApps: 1000,
      domains: [],
      unsignedEventTypes: [],
      shutdownTimeoutSeconds: 10,
      shutdownDelaySeconds: 0,
    };
    assert.deepEqual(loadConfig(KEYED), expected);
  });

  it('treats an empty value as unset (default), and trims values', () => {
    const config = loadConfig({
      TENCENT_LIVE_CALLBACK_KEYS: ' k1,k2 ',
      TENCENT_LIVE_CALLBACK_PATH: '',
      TENCENT_LIVE_BODY_LIMIT_BYTES: '',
      TENCENT_LIVE_DEDUP_TTL_SECONDS: ' 900 ',
    });
    assert.deepEqual(config.callbackKeys, ['k1', 'k2']);
    assert.equal(config.callbackPath, '/callback');
    assert.equal(config.bodyLimitBytes, 65536);
    assert.equal(config.dedupTtlSeconds, 900);
  });

  it('ignores variables outside TENCENT_LIVE_* (the real environment is passed in)', () => {
    assert.doesNotThrow(() => loadConfig({ ...KEYED, PATH: '/bin', HOME: '/root', TENCENT_LIVEX: 'x' }));
  });

  it('parses every non-default value', () => {
    const config = loadConfig({
      TENCENT_LIVE_CALLBACK_KEYS: 'new_key-2,old_key-1',
      TENCENT_LIVE_CALLBACK_LISTEN: '127.0.0.1:18080',
      TENCENT_LIVE_CALLBACK_PATH: '/tencent/live-callback_v1.0~',
      TENCENT_LIVE_METRICS_LISTEN: 'metrics.local:19877',
      TENCENT_LIVE_STORE: 'sqlite:/var/lib/tle/state.db',
      TENCENT_LIVE_LOG_LEVEL: 'debug',
      TENCENT_LIVE_CLOCK_SKEW_SECONDS: '0',
      TENCENT_LIVE_SIGNATURE_MAX_AHEAD_SECONDS: '60',
      TENCENT_LIVE_DEDUP_TTL_SECONDS: '3600',
      TENCENT_LIVE_SESSION_MAX_AGE_SECONDS: '7200',
      TENCENT_LIVE_SERIES_GRACE_SECONDS: '0',
      TENCENT_LIVE_SERIES_IDLE_SECONDS: '60',
      TENCENT_LIVE_MAX_TRACKED_STREAMS: '1',
      TENCENT_LIVE_BODY_LIMIT_BYTES: '1024',
      TENCENT_LIVE_MAX_SESSIONS: '5',
      TENCENT_LIVE_MAX_APPS: '7',
      TENCENT_LIVE_DOMAINS: 'a.example.com,b.example.com',
      TENCENT_LIVE_UNSIGNED_EVENT_TYPES: '321,314',
      TENCENT_LIVE_SHUTDOWN_TIMEOUT_SECONDS: '600',
      TENCENT_LIVE_SHUTDOWN_DELAY_SECONDS: '15',
    });
    assert.deepEqual(config, {
      callbackKeys: ['new_key-2', 'old_key-1'],
      allowUnsigned: false,
      callbackListen: { host: '127.0.0.1', port: 18080 },
      callbackPath: '/tencent/live-callback_v1.0~',
      metricsListen: { host: 'metrics.local', port: 19877 },
      store: { kind: 'sqlite', path: '/var/lib/tle/state.db' },
      logLevel: 'debug',
      clockSkewSeconds: 0,
      signatureMaxAheadSeconds: 60,
      dedupTtlSeconds: 3600,
      sessionMaxAgeSeconds: 7200,
      seriesGraceSeconds: 0,
      seriesIdleSeconds: 60,
      maxTrackedStreams: 1,
      bodyLimitBytes: 1024,
      maxSessions: 5,
      maxApps: 7,
      domains: ['a.example.com', 'b.example.com'],
      unsignedEventTypes: [321, 314],
      shutdownTimeoutSeconds: 600,
      shutdownDelaySeconds: 15,
    });
  });

  it('parses a redis store as a URL', () => {
    assert.deepEqual(loadConfig({ ...KEYED, TENCENT_LIVE_STORE: 'redis://r:6379/0' }).store, {
      kind: 'redis',
      url: 'redis://r:6379/0',
    });
    assert.equal(loadConfig({ ...KEYED, TENCENT_LIVE_STORE: 'rediss://r:6380' }).store.kind, 'redis');
  });
});

describe('loadConfig rejects every invalid value, naming the variable', () => {
  const invalid: Record<keyof typeof ENV_VARS, string[]> = {
    TENCENT_LIVE_CALLBACK_KEYS: ['a b', 'k1,,k2', ',', 'k1,', 'ключ', 'x'.repeat(65), 'k1;k2'],
    TENCENT_LIVE_ALLOW_UNSIGNED: ['yes', '1', 'TRUE', 'on'],
    TENCENT_LIVE_CALLBACK_LISTEN: [
      '8080',
      ':8080',
      'host:',
      'host:port',
      '::1:8080',
      '[::1]',
      'a b:80',
      '0.0.0.0:123456',
    ],
    TENCENT_LIVE_CALLBACK_PATH: ['callback', '/a b', '/a?b=1', '/' + 'a'.repeat(200)],
    TENCENT_LIVE_METRICS_LISTEN: ['localhost', '1.2.3.4:-1', '[zz]:80', '[]:80'],
    TENCENT_LIVE_STORE: ['sqlite:', 'mysql://db', './file.db', 'redis://', 'memory'],
    TENCENT_LIVE_LOG_LEVEL: ['verbose', 'INFO', 'warning'],
    TENCENT_LIVE_CLOCK_SKEW_SECONDS: ['abc', '-1', '3601', '1.5', 'true'],
    TENCENT_LIVE_SIGNATURE_MAX_AHEAD_SECONDS: ['59', '604801', 'x'],
    TENCENT_LIVE_DEDUP_TTL_SECONDS: ['899', '604801', '10m'],
    TENCENT_LIVE_SESSION_MAX_AGE_SECONDS: ['59', '2592001', '1d'],
    TENCENT_LIVE_SERIES_GRACE_SECONDS: ['-1', '86401', '5.5'],
    TENCENT_LIVE_SERIES_IDLE_SECONDS: ['59', '2592001', 'never'],
    TENCENT_LIVE_MAX_TRACKED_STREAMS: ['0', '10000001', '1k'],
    TENCENT_LIVE_BODY_LIMIT_BYTES: ['1023', '16777217', '64KB'],
    TENCENT_LIVE_MAX_APPS: ['0', '1000001', 'many'],
    TENCENT_LIVE_MAX_SESSIONS: ['0', '100000001', 'lots'],
    TENCENT_LIVE_DOMAINS: ['a,,b', 'a b', ',a'],
    TENCENT_LIVE_UNSIGNED_EVENT_TYPES: ['321,x', '1234567', '321,'],
    TENCENT_LIVE_SHUTDOWN_TIMEOUT_SECONDS: ['0', '601', 'soon'],
    TENCENT_LIVE_SHUTDOWN_DELAY_SECONDS: ['-1', '301', '5s'],
  };

  it('covers every variable of ENV_VARS', () => {
    assert.deepEqual(Object.keys(invalid).sort(), Object.keys(ENV_VARS).sort());
  });

  for (const [name, values] of Object.entries(invalid)) {
    for (const value of values) {
      it(`${name}=${JSON.stringify(value.length > 40 ? value.slice(0, 20) + '…' : value)}`, () => {
        const env = name === 'TENCENT_LIVE_CALLBACK_KEYS' ? { [name]: value } : { ...KEYED, [name]: value };
        const error = configError(env);
        assert.match(error.message, new RegExp(`(^|\\n\\s*)${name}: `), error.message);
      });
    }
  }

  it('says what a value of the wrong form should be, as the README does', () => {
    const error = configError({
      ...KEYED,
      TENCENT_LIVE_DOMAINS: 'a b',
      TENCENT_LIVE_CALLBACK_PATH: 'callback',
    });
    assert.match(
      error.message,
      /TENCENT_LIVE_DOMAINS: "a b" is not of the expected form \(comma-separated domains, no spaces\)/,
    );
    assert.match(
      error.message,
      /TENCENT_LIVE_CALLBACK_PATH: "callback" is not of the expected form \(\/ and letters/,
    );
    assert.doesNotMatch(error.message, /see the README/);
  });

  it('rejects an unknown TENCENT_LIVE_* variable by name (a typo must not fall back to a default)', () => {
    const error = configError({ ...KEYED, TENCENT_LIVE_CALLBACK_KEY: 'k1' });
    assert.match(error.message, /TENCENT_LIVE_CALLBACK_KEY: unknown variable/);
  });

  it('lists every problem at once', () => {
    const error = configError({
      ...KEYED,
      TENCENT_LIVE_LOG_LEVEL: 'loud',
      TENCENT_LIVE_BODY_LIMIT_BYTES: '1',
    });
    assert.match(error.message, /TENCENT_LIVE_LOG_LEVEL: /);
    assert.match(error.message, /TENCENT_LIVE_BODY_LIMIT_BYTES: /);
  });
});

describe('loadConfig: signing policy', () => {
  it('refuses to start with no key and no TENCENT_LIVE_ALLOW_UNSIGNED', () => {
    assert.match(configError({}).message, /^TENCENT_LIVE_CALLBACK_KEYS: no callback key set/);
    assert.match(configError({ TENCENT_LIVE_ALLOW_UNSIGNED: 'false' }).message, /TENCENT_LIVE_CALLBACK_KEYS/);
  });

  it('accepts unsigned mode only when asked for explicitly', () => {
    const config = loadConfig({ TENCENT_LIVE_ALLOW_UNSIGNED: 'true' });
    assert.equal(config.allowUnsigned, true);
    assert.deepEqual(config.callbackKeys, []);
  });

  it('refuses keys together with TENCENT_LIVE_ALLOW_UNSIGNED=true', () => {
    const error = configError({ ...KEYED, TENCENT_LIVE_ALLOW_UNSIGNED: 'true' });
    assert.match(error.message, /^TENCENT_LIVE_ALLOW_UNSIGNED: /);
  });
});

describe('loadConfig: listen addresses', () => {
  it('parses host:port, IPv6 in brackets and port 0', () => {
    const config = loadConfig({
      ...KEYED,
      TENCENT_LIVE_CALLBACK_LISTEN: '[::]:0',
      TENCENT_LIVE_METRICS_LISTEN: '[::1]:9877',
    });
    assert.deepEqual(config.callbackListen, { host: '::', port: 0 });
    assert.deepEqual(config.metricsListen, { host: '::1', port: 9877 });
    assert.deepEqual(
      loadConfig({ ...KEYED, TENCENT_LIVE_CALLBACK_LISTEN: 'my_host-1.local:65535' }).callbackListen,
      {
        host: 'my_host-1.local',
        port: 65535,
      },
    );
    assert.deepEqual(
      loadConfig({ ...KEYED, TENCENT_LIVE_METRICS_LISTEN: '[::ffff:127.0.0.1]:1' }).metricsListen,
      { host: '::ffff:127.0.0.1', port: 1 },
    );
  });

  it('refuses a port above 65535, naming the variable', () => {
    assert.match(
      configError({ ...KEYED, TENCENT_LIVE_METRICS_LISTEN: '127.0.0.1:65536' }).message,
      /^TENCENT_LIVE_METRICS_LISTEN: port of "127.0.0.1:65536" is out of range/,
    );
  });

  it('refuses the metrics listener on the callback listener (metrics stay private), except port 0', () => {
    const same = { TENCENT_LIVE_CALLBACK_LISTEN: '[::1]:9000', TENCENT_LIVE_METRICS_LISTEN: '[::1]:9000' };
    assert.match(configError({ ...KEYED, ...same }).message, /^TENCENT_LIVE_METRICS_LISTEN: must differ/);
    assert.match(
      configError({
        ...KEYED,
        TENCENT_LIVE_CALLBACK_LISTEN: '0.0.0.0:8080',
        TENCENT_LIVE_METRICS_LISTEN: '0.0.0.0:08080',
      }).message,
      /must differ/,
    );
    const ephemeral = {
      TENCENT_LIVE_CALLBACK_LISTEN: '127.0.0.1:0',
      TENCENT_LIVE_METRICS_LISTEN: '127.0.0.1:0',
    };
    assert.doesNotThrow(() => loadConfig({ ...KEYED, ...ephemeral }));
  });
});

describe('loadConfig result', () => {
  it('is frozen, nested objects included', () => {
    const config = loadConfig({ ...KEYED, TENCENT_LIVE_STORE: 'sqlite:/tmp/x.db' });
    for (const part of [
      config,
      config.callbackKeys,
      config.callbackListen,
      config.metricsListen,
      config.store,
    ])
      assert.ok(Object.isFrozen(part));
    assert.throws(() => {
      (config as { logLevel: string }).logLevel = 'debug';
    }, TypeError);
    assert.throws(() => (config.callbackKeys as string[]).push('k2'), TypeError);
    assert.throws(() => {
      (config.callbackListen as { port: number }).port = 1;
    }, TypeError);
    assert.equal(config.logLevel, 'info');
  });

  it('does not depend on the object it was given', () => {
    const env: Record<string, string> = { ...KEYED };
    const config = loadConfig(env);
    env['TENCENT_LIVE_CALLBACK_KEYS'] = 'changed';
    assert.deepEqual(config.callbackKeys, ['k1']);
  });
});
