import { createServer } from 'node:http';
import { listenAndAnnounce } from './listen.js';

/**
 * The floor of the throughput comparison: plain node:http that reads the body, JSON.parse-s it and answers
 * {"code":0}, the least any callback receiver on Node.js must do.
 */
const OK = '{"code":0}';

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    let status = 200;
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      status = 400;
    }
    response.writeHead(status, { 'Content-Type': 'application/json' });
    response.end(status === 200 ? OK : '{"code":400}');
  });
});
listenAndAnnounce(server);
