// A real Alertmanager (the Debian `prometheus-alertmanager` binary) and a loopback webhook receiver that
// records what it is sent, for end-to-end tests of alert routing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBodyServer } from './http.js';
import { Daemon, onFreePort, startDaemon } from './prometheus.js';

export type AlertmanagerOptions = {
  /** A directory of the test's own: the notification log goes there, and the config when given as an object. */
  dir: string;
} & (
  | {
      /** The whole alertmanager.yml, as an object (written with the `yaml` package). */
      config: Record<string, unknown>;
    }
  | {
      /** An alertmanager.yml used as it is, e.g. the repository's example. */
      configFile: string;
    }
);

/**
 * A real Alertmanager on 127.0.0.1 and a free port, ready when this resolves. `--cluster.listen-address=`
 * (empty) turns clustering off; otherwise it binds 0.0.0.0:9094 (OBSERVABILITY.md).
 */
export async function startAlertmanager(options: AlertmanagerOptions): Promise<Daemon> {
  let configFile: string;
  if ('configFile' in options) {
    configFile = options.configFile;
  } else {
    configFile = join(options.dir, 'alertmanager.yml');
    writeFileSync(configFile, stringify(options.config));
  }
  const storage = join(options.dir, 'alertmanager-data');
  mkdirSync(storage, { recursive: true });
  return onFreePort((port) =>
    startDaemon(
      {
        name: 'alertmanager',
        command: 'prometheus-alertmanager',
        args: [
          `--config.file=${configFile}`,
          `--storage.path=${storage}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--cluster.listen-address=',
          '--log.level=warn',
        ],
        url: `http://127.0.0.1:${port}`,
        readyPath: '/-/ready',
        debianPackage: 'prometheus-alertmanager',
      },
      Daemon,
    ),
  );
}

/** One alert of a webhook notification (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

export interface WebhookMessage {
  /** The request path, which tells the receivers apart (e.g. /pager, /tickets). */
  path: string;
  receiver: string;
  status: 'firing' | 'resolved';
  alerts: WebhookAlert[];
  groupLabels: Record<string, string>;
}

export interface WebhookReceiver {
  /** http://127.0.0.1:port */
  readonly url: string;
  /** Every notification received so far, in arrival order. */
  readonly messages: WebhookMessage[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1:0 that answers 200 to every POST and keeps the JSON bodies (400 to one that is not JSON). */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const messages: WebhookMessage[] = [];
  const server = await startBodyServer((text, request) => {
    const body = JSON.parse(text) as Omit<WebhookMessage, 'path'>;
    messages.push({ ...body, path: request.url ?? '' });
    return { status: 200 };
  });
  return { url: server.url, messages, close: () => server.close() };
}
