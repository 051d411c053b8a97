/**
 * `custos doctor`'s reason for a server it could not reach: an untrusted certificate is named
 * as such (the server runs: "start the server" would mislead), anything else names node's cause.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { unreachable } from './doctor.js';

const fetchFailure = (code: string, message = 'x'): TypeError =>
  new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) });

describe('doctor: why a server was not reached', () => {
  it('names an untrusted certificate and says what to do about it', () => {
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED']) {
      const why = unreachable('https://custos.example', fetchFailure(code));
      expect(why.detail).toBe(
        `cannot reach https://custos.example: its TLS certificate is not trusted here (${code})`,
      );
      expect(why.fix).toMatch(/certificate from a CA/);
      expect(why.fix).not.toMatch(/start the server/);
    }
  });

  it('names the cause of a real refused connection, not just "fetch failed"', async () => {
    // A port that was just free: nothing listens there any more.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as { port: number };
    await new Promise((r) => probe.close(r));
    const url = `http://127.0.0.1:${port}`;
    const e: unknown = await fetch(`${url}/healthz`).catch((x: unknown) => x);
    const why = unreachable(url, e);
    expect(why.detail).toBe(`cannot reach ${url}: ECONNREFUSED`);
    expect(why.fix).toMatch(/start the server/);
    expect(unreachable('u', new Error('boom')).detail).toBe('cannot reach u: boom');
  });
});
