import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerTooLargeError, createHttpFetch, DEFAULT_ANSWER_LIMIT_BYTES, httpFetch } from './http-fetch.js';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

/** Routes of the test server, by path; each gets the whole request body. */
const routes = new Map<string, Handler>();
/** Connections the plain server accepted, and requests it saw, by path. */
let connections = 0;
const seen: string[] = [];

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    seen.push(req.url ?? '');
    const route = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no such route' } }));
      return;
    }
    route(req, Buffer.concat(chunks), res);
  });
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Bytes 0–255 repeated to `n` bytes. */
function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = i % 256;
  return out;
}

/** Byte-for-byte equality (a deep `toEqual` over a megabyte is slow). */
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/**
 * Routes `path` to an endless chunked answer: the server writes as fast as the client reads,
 * until the client closes the connection or POUR_CAP bytes were written (a client that reads on
 * ends the test there instead of hanging it). Resolves with which came first.
 */
function pour(path: string): Promise<{ closedByClient: boolean; written: number }> {
  return new Promise((resolve) => {
    routes.set(path, (req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 7);
      let written = 0;
      req.socket.once('close', () => resolve({ closedByClient: written < POUR_CAP, written }));
      const more = (): void => {
        while (written < POUR_CAP && !res.destroyed) {
          written += chunk.byteLength;
          if (!res.write(chunk)) {
            res.once('drain', more);
            return;
          }
        }
        if (written >= POUR_CAP) res.end(() => resolve({ closedByClient: false, written }));
      };
      more();
    });
  });
}

/** Bytes an endless answer writes at most: far more than any limit the tests set, or socket buffers hold. */
const POUR_CAP = 64 << 20;

let plain: Server;
let base: string;
let tls: Server;
let tlsBase: string;
let certPem: string;
let certDir: string;

beforeAll(async () => {
  plain = createServer(handle);
  plain.on('connection', () => connections++);
  base = `http://${await listen(plain)}`;
  // A self-signed certificate for 127.0.0.1, as an operator makes one (test/server-start.test.ts).
  certDir = mkdtempSync(join(tmpdir(), 'custos-http-fetch-'));
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'), '-days', '1'],
      ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    ],
    { stdio: 'pipe' },
  );
  certPem = readFileSync(join(certDir, 'cert.pem'), 'utf8');
  tls = createTlsServer({ cert: certPem, key: readFileSync(join(certDir, 'key.pem')) }, handle);
  tlsBase = `https://${await listen(tls)}`;

  routes.set('/echo', (req, body, res) => {
    res.writeHead(201, { 'content-type': 'application/json', 'retry-after': '7' });
    res.end(
      JSON.stringify({
        method: req.method,
        contentType: req.headers['content-type'] ?? null,
        contentLength: req.headers['content-length'] ?? null,
        authorization: req.headers.authorization ?? null,
        body: body.toString('utf8'),
      }),
    );
  });
  routes.set('/bytes', (req, body, res) => {
    // Echoes a posted body; a GET gets `n` bytes of the pattern.
    const n = Number(new URL(req.url ?? '', 'http://x').searchParams.get('n'));
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(req.method === 'POST' ? body : Buffer.from(pattern(n)));
  });
  routes.set('/moved', (_req, _body, res) => {
    res.writeHead(302, { location: '/echo' });
    res.end();
  });
  routes.set('/text', (_req, _body, res) => {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('überlastet')]));
  });
});

afterAll(async () => {
  await close(plain);
  await close(tls);
  rmSync(certDir, { recursive: true, force: true });
});

describe('httpFetch', () => {
  it('sends a JSON body with its headers and reads the JSON answer, its status and headers', async () => {
    const res = await httpFetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
      body: JSON.stringify({ text: 'grüße' }),
    });
    expect(res.status).toBe(201);
    expect(res.ok).toBe(true);
    expect(res.headers.get('Retry-After')).toBe('7');
    expect(res.headers.get('x-absent')).toBeNull();
    expect(await res.json()).toEqual({
      method: 'POST',
      contentType: 'application/json',
      contentLength: String(Buffer.byteLength('{"text":"grüße"}')),
      authorization: 'Bearer t',
      body: '{"text":"grüße"}',
    });
  });

  it('carries binary bodies both ways, byte for byte, small and large', async () => {
    const sent = pattern(70_000);
    const echoed = await httpFetch(`${base}/bytes`, { method: 'POST', body: sent });
    expect(sameBytes(new Uint8Array(await echoed.arrayBuffer()), sent)).toBe(true);
    // A small answer sits in Node's shared buffer pool: only its own bytes come back.
    for (const n of [0, 10, 3000, 1 << 20]) {
      const got = new Uint8Array(await (await httpFetch(`${base}/bytes?n=${n}`)).arrayBuffer());
      expect(got.byteLength).toBe(n);
      expect(sameBytes(got, pattern(n))).toBe(true);
    }
  });

  it('returns error statuses with their bodies, and does not follow redirects', async () => {
    const missing = await httpFetch(`${base}/nowhere`);
    expect(missing.status).toBe(404);
    expect(missing.ok).toBe(false);
    expect(await missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such route' } });

    const busy = await httpFetch(`${base}/text`);
    expect(busy.status).toBe(503);
    expect(await busy.text()).toBe('überlastet'); // the byte-order mark dropped, as fetch does

    const before = seen.length;
    const moved = await httpFetch(`${base}/moved`, { headers: { authorization: 'Bearer t' } });
    expect(moved.status).toBe(302);
    expect(moved.headers.get('location')).toBe('/echo');
    await moved.body?.cancel();
    expect(seen.slice(before)).toEqual(['/moved']);
  });

  it('reads an answer once, as fetch does', async () => {
    const res = await httpFetch(`${base}/bytes?n=4`);
    await res.arrayBuffer();
    await expect(res.text()).rejects.toThrow(TypeError);
  });

  it('rejects with the signal reason when aborted before the answer or during it', async () => {
    const held: ServerResponse[] = [];
    const arrived: (() => void)[] = [];
    routes.set('/hold', (_req, _body, res) => {
      held.push(res);
      arrived.shift()?.();
    });
    routes.set('/half', (_req, _body, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('0123456789');
      held.push(res);
      arrived.shift()?.();
    });

    const ctl = new AbortController();
    const reached = new Promise<void>((r) => arrived.push(r));
    const pending = httpFetch(`${base}/hold`, { signal: ctl.signal });
    await reached;
    const reason = new Error('stopped by the test');
    ctl.abort(reason);
    await expect(pending).rejects.toBe(reason);

    const during = new AbortController();
    const started = new Promise<void>((r) => arrived.push(r));
    const res = await httpFetch(`${base}/half`, { signal: during.signal });
    await started;
    during.abort(reason);
    await expect(res.arrayBuffer()).rejects.toBe(reason);

    // AbortSignal.timeout, as every caller passes: the reason is a TimeoutError.
    await expect(httpFetch(`${base}/hold`, { signal: AbortSignal.timeout(1) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    // Already aborted: nothing is sent.
    const count = seen.length;
    await expect(httpFetch(`${base}/echo?aborted`, { signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
    expect(seen.slice(count)).not.toContain('/echo?aborted');
    for (const r of held) r.destroy();
  });

  it('rejects like fetch when nothing answers: a TypeError with node’s reason as its cause', async () => {
    const gone = createServer();
    const address = await listen(gone);
    await close(gone);
    const e: unknown = await httpFetch(`http://${address}/healthz`).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TypeError);
    expect((e as TypeError & { code?: string }).code).toBeUndefined();
    expect(((e as Error).cause as { code?: string }).code).toBe('ECONNREFUSED');
    await expect(httpFetch('ftp://127.0.0.1/x')).rejects.toThrow(TypeError);
    await expect(httpFetch('not a url')).rejects.toThrow(TypeError);
  });

  it('rejects an answer cut off before its end', async () => {
    routes.set('/cut', (_req, _body, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('0123456789', () => res.destroy());
    });
    const res = await httpFetch(`${base}/cut`);
    await expect(res.arrayBuffer()).rejects.toThrow(/was cut off/);
  });

  it('keeps the connection for the next request, and retries a GET once on a kept connection the server closed', async () => {
    const fetchOwn = createHttpFetch();
    const first = connections;
    await (await fetchOwn(`${base}/bytes?n=1`)).arrayBuffer();
    await (await fetchOwn(`${base}/bytes?n=1`)).arrayBuffer();
    expect(connections - first).toBe(1);

    // The server drops the kept connection as the next request arrives on it (its idle
    // timeout raced the request): a GET goes again on a new connection; a POST is not repeated.
    let drops = 0;
    routes.set('/drop-kept', (req, _body, res) => {
      if (drops++ === 0) req.socket.destroy();
      else res.end('again');
    });
    expect(await (await fetchOwn(`${base}/drop-kept`)).text()).toBe('again');
    expect(connections - first).toBe(2);
    drops = 0;
    const e: unknown = await fetchOwn(`${base}/drop-kept`, { method: 'POST', body: 'x' }).catch(
      (x: unknown) => x,
    );
    expect(((e as Error).cause as { code?: string }).code).toBe('ECONNRESET');
    expect(drops).toBe(1);
  });

  it('speaks HTTPS to a server whose certificate it trusts, and refuses one it does not', async () => {
    const trusting = createHttpFetch({ ca: certPem });
    const res = await trusting(`${tlsBase}/echo`, { method: 'PUT', body: 'over tls' });
    expect(((await res.json()) as { body: string }).body).toBe('over tls');

    // The default trust (Node's CA store, NODE_EXTRA_CA_CERTS unset here) refuses the
    // self-signed certificate with the code the CLI explains (cli/fetch-failure.ts).
    const e: unknown = await httpFetch(`${tlsBase}/echo`).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TypeError);
    expect(((e as Error).cause as { code?: string }).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('refuses an answer larger than its limit: by its content-length, or as an endless body passes the limit', async () => {
    const limit = 1 << 20;
    const bounded = createHttpFetch({ maxAnswerBytes: limit });
    routes.set('/declared', (_req, _body, res) => {
      res.writeHead(200, { 'content-length': String(limit + 1) });
      res.end(Buffer.alloc(limit + 1));
    });
    // Refused before the answer is handed out; the message names the request and the limit only.
    const e: unknown = await bounded(`${base}/declared?token=s3cret`).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AnswerTooLargeError);
    expect(e).toBeInstanceOf(TypeError); // fetch's shape
    expect((e as Error).message).toBe(`GET /declared: the answer is larger than the limit of ${limit} bytes`);
    // An answer of exactly the limit is read.
    expect((await (await bounded(`${base}/bytes?n=${limit}`)).arrayBuffer()).byteLength).toBe(limit);

    // Chunked, no length: the server writes until the client closes the connection.
    const poured = pour('/endless');
    // (The outcome as a string: a failure message that printed 64 MiB would be the test's end.)
    const outcome = await (
      await bounded(`${base}/endless`, { method: 'POST', body: 'x' })
    )
      .arrayBuffer()
      .then(
        (b) => `read ${b.byteLength} bytes`,
        (x: unknown) => String(x),
      );
    expect(outcome).toBe(
      `AnswerTooLargeError: POST /endless: the answer is larger than the limit of ${limit} bytes`,
    );
    expect(await poured).toMatchObject({ closedByClient: true }); // the client stopped near the limit
  });

  it("takes each request's own limit over the transport's default, which is DEFAULT_ANSWER_LIMIT_BYTES", async () => {
    const fetchOwn = createHttpFetch();
    const over = DEFAULT_ANSWER_LIMIT_BYTES + 1;
    // A request that names no limit gets the default; before per-request limits it was 1 GiB.
    const e: unknown = await fetchOwn(`${base}/bytes?n=${over}`)
      .then((r) => r.arrayBuffer())
      .catch((x: unknown) => x);
    expect((e as Error).message).toBe(
      `GET /bytes: the answer is larger than the limit of ${DEFAULT_ANSWER_LIMIT_BYTES} bytes`,
    );
    // A request that names a larger limit reads the same answer whole...
    const big = await fetchOwn(`${base}/bytes?n=${over}`, { maxAnswerBytes: over });
    expect((await big.arrayBuffer()).byteLength).toBe(over);
    // ...and one that names a smaller limit than the default is held to it.
    const small: unknown = await fetchOwn(`${base}/bytes?n=1025`, { maxAnswerBytes: 1024 })
      .then((r) => r.arrayBuffer())
      .catch((x: unknown) => x);
    expect((small as Error).message).toBe('GET /bytes: the answer is larger than the limit of 1024 bytes');
  });

  it('closes an answer still arriving when its body is cancelled: the next request takes a new connection', async () => {
    const fetchOwn = createHttpFetch();
    const first = connections;
    const poured = pour('/pour');
    const res = await fetchOwn(`${base}/pour`);
    await res.body?.cancel();
    // Before the change the connection went on reading (and dropping) the answer to its end.
    expect(await poured).toMatchObject({ closedByClient: true });
    expect(await (await fetchOwn(`${base}/echo`)).json()).toMatchObject({ method: 'GET' });
    expect(connections - first).toBe(2);
  });

  it('refuses a URL with credentials before sending anything, as fetch did', async () => {
    const before = seen.length;
    const url = new URL(`${base}/echo?creds`);
    for (const [user, password] of [
      ['alice', 'pw-s3cret'],
      ['alice', ''],
      ['', 'pw-s3cret'],
    ] as const) {
      url.username = user;
      url.password = password;
      const e: unknown = await httpFetch(url.href).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TypeError);
      expect((e as Error).message).toMatch(/carries credentials/);
      expect((e as Error).message).not.toMatch(/s3cret|alice/);
    }
    expect(seen.slice(before)).toEqual([]);
  });
});
