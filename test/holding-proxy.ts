/**
 * An HTTP proxy in front of a real `custos server` process that can hold one kind of
 * request: it accepts it and never answers, either before the server sees it or after the
 * server answered. A client process talking through the proxy then stops at a known point
 * (say, mid-upload) without any hook in the client, so a test can kill the client process
 * there. It can also fail one kind of request after the server handled it, as a proxy whose
 * upstream connection broke answers: a 502 page in place of the server's answer, so the
 * client cannot tell whether the server stored it. In `pass` mode it forwards everything
 * unchanged. Plain HTTP only (no WebSocket upgrades: the commands these tests run do not
 * open the socket).
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What the proxy does with a matching request. */
export type HoldMode = 'pass' | 'hold-before-server' | 'hold-after-server' | 'fail-after-server';

/** A running proxy. */
export interface HoldingProxy {
  /** The URL clients use instead of the server's. */
  readonly url: string;
  /** The mode for requests that match (others always pass). */
  mode: HoldMode;
  /**
   * Resolves once a matching request is held: its body received (`hold-before-server`), or
   * the server's answer received and withheld (`hold-after-server`, `fail-after-server`:
   * with its status).
   */
  nextHeld(): Promise<{ readonly serverStatus?: number }>;
  close(): Promise<void>;
}

/**
 * Starts a proxy to `target` (an http:// URL) on loopback `port` (0: a random one). To put
 * it in front of a server whose address clients already hold, move the server to another
 * port (with `--origin` set to its old address, which devices sign into their logins) and
 * give the proxy the old one.
 */
export async function startHoldingProxy(
  target: string,
  matches: (method: string, path: string) => boolean,
  port = 0,
): Promise<HoldingProxy> {
  const to = new URL(target);
  const sockets = new Set<Socket>();
  let waiting: ((held: { serverStatus?: number }) => void) | undefined;
  const held = (h: { serverStatus?: number }): void => {
    const w = waiting;
    waiting = undefined;
    w?.(h);
  };
  const forward = (
    req: IncomingMessage,
    onAnswer: (status: number, headers: IncomingMessage['headers'], body: IncomingMessage) => void,
    res: ServerResponse,
  ): void => {
    const up = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => onAnswer(answer.statusCode ?? 502, answer.headers, answer),
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  };
  const proxy: HoldingProxy = {
    url: '',
    mode: 'pass',
    nextHeld: () => new Promise((resolve) => (waiting = resolve)),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    // The mode when the request arrived decides, whatever a test sets meanwhile.
    const mode = proxy.mode;
    const hold = mode !== 'pass' && matches(req.method ?? 'GET', req.url ?? '/');
    if (hold && mode === 'hold-before-server') {
      // Read the whole request so the client has sent it, then never answer.
      req.resume();
      req.on('end', () => held({}));
      return;
    }
    forward(
      req,
      (status, headers, body) => {
        if (!hold) {
          res.writeHead(status, headers);
          body.pipe(res);
          return;
        }
        body.resume();
        body.on('end', () => {
          held({ serverStatus: status });
          if (mode === 'fail-after-server')
            res.writeHead(502, { 'content-type': 'text/html' }).end('<html>502 Bad Gateway</html>');
        });
      },
      res,
    );
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = (server.address() as { port: number }).port;
  return Object.assign(proxy, { url: `http://127.0.0.1:${bound}` });
}
