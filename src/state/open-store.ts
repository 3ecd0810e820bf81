import { ConfigError, type StoreConfig } from '../config.js';
import { SqliteStore } from './sqlite-store.js';
import type { StateStore } from './store.js';

export function openStore(config: StoreConfig): StateStore {
  if (config.kind === 'sqlite') {
    try {
      return new SqliteStore(config.path);
    } catch (error) {
      throw new ConfigError(
        `TENCENT_LIVE_STORE: cannot open sqlite:${config.path}: ${(error as Error).message}`,
      );
    }
  }
  throw new ConfigError(
    'TENCENT_LIVE_STORE: the Redis store is not in this version yet; use sqlite:<path> (one replica)',
  );
}
