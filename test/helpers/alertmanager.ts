// A real Alertmanager (the Debian `prometheus-alertmanager` binary) and a loopback webhook receiver that
// records what it is sent, for end-to-end tests of alert routing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Daemon, onFreePort, startDaemon } from './prometheus.js';

export interface AlertmanagerOptions {
  /** A directory of the test's own: config and notification log go there. */
  dir: string;
  /** The whole alertmanager.yml, as an object (written with the `yaml` package). */
  config: Record<string, unknown>;
}

/**
 * A real Alertmanager on 127.0.0.1 and a free port, ready when this resolves. `--cluster.listen-address=`
 * (empty) turns clustering off; otherwise it binds 0.0.0.0:9094 (OBSERVABILITY.md).
 */
export async function startAlertmanager(options: AlertmanagerOptions): Promise<Daemon> {
  const configFile = join(options.dir, 'alertmanager.yml');
  const storage = join(options.dir, 'alertmanager-data');
  mkdirSync(storage, { recursive: true });
  writeFileSync(configFile, stringify(options.config));
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

/** An HTTP server on 127.0.0.1:0 that answers 200 to every POST and keeps the JSON bodies. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const messages: WebhookMessage[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<WebhookMessage, 'path'>;
        messages.push({ ...body, path: request.url ?? '' });
        response.writeHead(200).end();
      } catch {
        response.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    messages,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
