import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on BENCH_LISTEN (host:port, port 0 for any) and prints the URL as one JSON line for the harness. */
export function listenAndAnnounce(server: Server): void {
  const [host = '127.0.0.1', port = '0'] = (process.env['BENCH_LISTEN'] ?? '127.0.0.1:0').split(':');
  server.listen(Number(port), host, () => {
    const address = server.address() as AddressInfo;
    process.stdout.write(`${JSON.stringify({ listening: `http://${address.address}:${address.port}` })}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
