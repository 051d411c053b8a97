/**
 * A server that lies, for the CLI's processes: a relay in front of a real `custos server`
 * process whose answers a test rewrites while `lie` is set, and passes unchanged otherwise.
 *
 * The relay is the server's public address: the server runs with `--origin` set to the relay's
 * URL (cli-support.ts cliOrg with a relay), so its login challenges name the relay's origin and
 * every device and console reaches it there, all along. A relay under another origin than the
 * server's is what a phishing relay is, and consoles and devices refuse to log in through it
 * (console ceremony-device.ts, client api-client.ts): it could not stand for a lying server.
 * Plain HTTP only: no command the tests run through it opens the relay socket (WebSocket).
 */
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

/** One upstream answer a {@link LyingRelay} may rewrite. */
export interface ProxiedAnswer {
  readonly method: string;
  /** The request's path, without the query. */
  readonly path: string;
  readonly status: number;
  readonly body: Buffer;
}

/** A new answer body, or undefined to pass the answer unchanged. */
export type Lie = (a: ProxiedAnswer) => Buffer | undefined;

/** A running relay. */
export interface LyingRelay {
  /** The URL clients use, and the server's `--origin`. */
  readonly url: string;
  /** Rewrites answers while set. */
  lie: Lie | undefined;
  /** Points the relay at the server's own address, once the server listens there. */
  relayTo(target: string): void;
  close(): Promise<void>;
}

/** Hop-by-hop and length headers the relay sets itself for the answer it writes. */
const NOT_RELAYED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

/** Starts a relay on a random loopback port; it answers 502 until {@link LyingRelay.relayTo}. */
export async function startLyingRelay(): Promise<LyingRelay> {
  let target: URL | undefined;
  const sockets = new Set<Socket>();
  const relay: LyingRelay = {
    url: '',
    lie: undefined,
    relayTo: (t) => void (target = new URL(t)),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    if (target === undefined) {
      req.resume();
      res.writeHead(502).end();
      return;
    }
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', target).pathname;
    const up = request(
      { host: target.hostname, port: target.port, method, path: req.url, headers: req.headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const status = answer.statusCode ?? 502;
          const body = Buffer.concat(chunks);
          const out = relay.lie?.({ method, path, status, body }) ?? body;
          const headers: IncomingHttpHeaders = {};
          for (const [k, v] of Object.entries(answer.headers)) if (!NOT_RELAYED.has(k)) headers[k] = v;
          res.writeHead(status, { ...headers, 'content-length': out.length }).end(out);
        });
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const bound = (server.address() as { port: number }).port;
  return Object.assign(relay, { url: `http://127.0.0.1:${bound}` });
}

/** Rewrites a JSON answer in place with `edit` (for {@link LyingRelay.lie}). */
export function editJson<T>(body: Buffer, edit: (json: T) => void): Buffer {
  const json = JSON.parse(body.toString('utf8')) as T;
  edit(json);
  return Buffer.from(JSON.stringify(json));
}
