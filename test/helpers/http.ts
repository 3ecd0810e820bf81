// A loopback HTTP server that stands in for whatever a test's code under test sends requests to: Tencent's
// callback receiver for the CLIs, a webhook for Alertmanager.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

export interface LoopbackServer {
  /** http://127.0.0.1:port */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * An HTTP server on 127.0.0.1 and an ephemeral port that reads each request's body whole (UTF-8) and answers
 * what `answer` returns for it; 400 when `answer` throws (e.g. the body is not JSON).
 */
export async function startBodyServer(
  answer: (body: string, request: IncomingMessage) => Answer,
): Promise<LoopbackServer> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let reply: Answer;
      try {
        reply = answer(Buffer.concat(chunks).toString('utf8'), request);
      } catch {
        reply = { status: 400 };
      }
      response.writeHead(reply.status, reply.headers).end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
