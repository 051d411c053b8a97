import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PublicKey } from '@signalapp/libsignal-client';
import { PrivateKey } from '@signalapp/libsignal-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isClientError } from '../errors.js';
import { MESSAGES_ANSWER_LIMIT_BYTES } from './answer-limits.js';
import { ApiClient, AUTH_SIGNATURE_DOMAIN, TOKEN_RENEW_MARGIN_MS } from './api-client.js';
import { backoffDelay } from './backoff.js';
import { DEFAULT_ANSWER_LIMIT_BYTES } from './http-fetch.js';

const ORG = 'o'.repeat(22);
const DEV = 'd'.repeat(22);
const MIN = 60_000;

/** A scripted server: challenge/token with signature checks, and one device route. */
function fakeServer(identity: PublicKey, opts: { origin?: string; expireEarly?: boolean } = {}) {
  const calls: string[] = [];
  let issued = 0;
  let now = 1_000_000;
  const valid = new Set<string>();
  const f: typeof fetch = async (input, init) => {
    const url = new URL(input);
    calls.push(`${init?.method ?? 'GET'} ${url.pathname}`);
    const json = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    const body = init?.body === undefined ? {} : (JSON.parse(init.body as string) as Record<string, string>);
    if (url.pathname === '/v1/auth/challenge')
      return json(201, {
        challengeId: 'c'.repeat(22),
        challenge: 'x'.repeat(43),
        expiresAt: now + MIN,
        origin: opts.origin ?? url.origin,
      });
    if (url.pathname === '/v1/auth/token') {
      const msg = [AUTH_SIGNATURE_DOMAIN, url.origin, ORG, DEV, 'x'.repeat(43)].join('\n');
      if (
        !identity.verify(
          new Uint8Array(Buffer.from(msg)),
          new Uint8Array(Buffer.from(body.signature!, 'base64url')),
        )
      )
        return json(401, { error: { code: 'SIGNATURE_INVALID', message: 'bad' } });
      const token = `ct1.${ORG}.${String(++issued).padStart(43, '0')}`;
      valid.add(token);
      return json(201, { token, expiresAt: now + 15 * MIN });
    }
    const auth = new Headers(init?.headers).get('authorization')?.slice('Bearer '.length) ?? '';
    if (!valid.has(auth)) return json(401, { error: { code: 'TOKEN_EXPIRED', message: 'expired' } });
    if (opts.expireEarly === true) valid.delete(auth);
    return json(200, { ok: true, token: auth });
  };
  return { f, calls, clock: () => now, advance: (ms: number) => (now += ms), issued: () => issued };
}

describe('ApiClient', () => {
  it('logs in by signing the challenge, reuses the token, and renews it before expiry', async () => {
    const key = PrivateKey.generate();
    const s = fakeServer(key.getPublicKey());
    const api = new ApiClient('http://127.0.0.1:9', { fetch: s.f, clock: s.clock });
    api.setCredentials({ orgId: ORG, deviceId: DEV, identityKey: key });
    const [a, b] = await Promise.all([api.request('GET', '/v1/session'), api.request('GET', '/v1/session')]);
    expect(s.issued()).toBe(1); // concurrent callers share one login
    expect(a).toEqual(b);
    s.advance(15 * MIN - TOKEN_RENEW_MARGIN_MS - 1000);
    await api.request('GET', '/v1/session');
    expect(s.issued()).toBe(1);
    s.advance(2000); // now inside the renewal margin
    await api.request('GET', '/v1/session');
    expect(s.issued()).toBe(2);
  });

  it('logs in again once when the server says the token expired', async () => {
    const key = PrivateKey.generate();
    const s = fakeServer(key.getPublicKey(), { expireEarly: true });
    const api = new ApiClient('http://127.0.0.1:9', { fetch: s.f, clock: s.clock });
    api.setCredentials({ orgId: ORG, deviceId: DEV, identityKey: key });
    await api.request('GET', '/v1/session');
    await api.request('GET', '/v1/session');
    expect(s.issued()).toBe(2);
  });

  it('refuses to sign a challenge for another origin', async () => {
    const key = PrivateKey.generate();
    const s = fakeServer(key.getPublicKey(), { origin: 'https://phish.example' });
    const api = new ApiClient('http://127.0.0.1:9', { fetch: s.f, clock: s.clock });
    api.setCredentials({ orgId: ORG, deviceId: DEV, identityKey: key });
    await expect(api.request('GET', '/v1/session')).rejects.toThrow(/origin https:\/\/phish.example/);
    expect(s.calls).not.toContain('POST /v1/auth/token');
  });

  it('maps refusals and network failures to ClientErrors without echoing bodies', async () => {
    const refuse: typeof fetch = async () =>
      new Response(
        JSON.stringify({ error: { code: 'MISMATCHED_DEVICES', message: 'm', details: { missing: ['x'] } } }),
        {
          status: 409,
        },
      );
    const api = new ApiClient('http://127.0.0.1:9', { fetch: refuse });
    try {
      await api.request('PUT', '/v1/messages', { body: { secret: 'do-not-echo' }, auth: false });
      expect.unreachable();
    } catch (e) {
      expect(isClientError(e, 'SERVER_REFUSED') && e.server).toEqual({
        status: 409,
        code: 'MISMATCHED_DEVICES',
        details: { missing: ['x'] },
      });
      expect(String(e)).not.toContain('do-not-echo');
    }
    const down = new ApiClient('http://127.0.0.1:9', {
      fetch: () => Promise.reject(new TypeError('ECONNREFUSED')),
    });
    await expect(down.request('GET', '/healthz', { auth: false })).rejects.toMatchObject({ code: 'NETWORK' });
    expect(() => new ApiClient('ftp://x')).toThrow(/http/);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffDelay(0, 250, 30_000, () => 0)).toBe(125);
    expect(backoffDelay(3, 250, 30_000, () => 1)).toBe(2000);
    expect(backoffDelay(40, 250, 30_000, () => 1)).toBe(30_000);
  });
});

describe('ApiClient answer limits, over the real transport', () => {
  // A JSON answer of `n` bytes: {"pad":"xxx…"}.
  const jsonOf = (n: number): Buffer => Buffer.from(`{"pad":"${'x'.repeat(n - 10)}"}`);
  const OVER = DEFAULT_ANSWER_LIMIT_BYTES + 1;
  let server: Server;
  let api: ApiClient;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      res.setHeader('content-type', 'application/json');
      if (path.startsWith('/v1/prekey-bundles/')) {
        // A small route answering past the default limit, its length declared.
        res.end(jsonOf(OVER));
      } else if (path === '/v1/orgs/o/log/checkpoint') {
        // The same, chunked: no content-length, so it is refused as it passes the limit.
        const part = Buffer.alloc(64 * 1024, 0x78);
        for (let sent = 0; sent < OVER; sent += part.byteLength) res.write(part);
        res.end();
      } else if (path === '/v1/messages') {
        // A large answer, past the default but within the route's own limit.
        res.end(jsonOf(DEFAULT_ANSWER_LIMIT_BYTES + 1024 * 1024));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    api = new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('refuses an answer past the default limit, naming the request and the limit and nothing else', async () => {
    const e: unknown = await api
      .request('GET', '/v1/prekey-bundles/o/u?secret=s3cret', { auth: false })
      .catch((x: unknown) => x);
    expect(isClientError(e, 'SERVER_RESPONSE_INVALID')).toBe(true);
    expect((e as Error).message).toBe(
      `GET /v1/prekey-bundles/o/u: the answer is larger than the limit of ${DEFAULT_ANSWER_LIMIT_BYTES} bytes`,
    );
    expect((e as Error).cause).toBeUndefined();

    const chunked: unknown = await api
      .request('GET', '/v1/orgs/o/log/checkpoint', { auth: false, as: 'text' })
      .catch((x: unknown) => x);
    expect(isClientError(chunked, 'SERVER_RESPONSE_INVALID')).toBe(true);
    expect((chunked as Error).message).toBe(
      `GET /v1/orgs/o/log/checkpoint: the answer is larger than the limit of ${DEFAULT_ANSWER_LIMIT_BYTES} bytes`,
    );
  });

  it("reads a large answer within the route's own limit", async () => {
    const page = (await api.request('GET', '/v1/messages', {
      auth: false,
      maxAnswerBytes: MESSAGES_ANSWER_LIMIT_BYTES,
    })) as { pad: string };
    expect(page.pad.length).toBe(DEFAULT_ANSWER_LIMIT_BYTES + 1024 * 1024 - 10);
    // The same answer to a request that names no limit is refused.
    await expect(api.request('GET', '/v1/messages', { auth: false })).rejects.toThrow(
      `GET /v1/messages: the answer is larger than the limit of ${DEFAULT_ANSWER_LIMIT_BYTES} bytes`,
    );
  });
});
