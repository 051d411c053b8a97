/**
 * The console's device login signs only the origin the console reached: a server (or a relay
 * in front of the real one) that names another origin in its challenge gets no signature.
 * The servers here are real HTTP servers on loopback playing that part.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CeremonyApi } from './ceremony-api.js';
import { CeremonyDeviceKey } from './ceremony-device.js';

const ORG = 'A'.repeat(22);
const DEVICE = 'B'.repeat(22);

/** A server answering the challenge with `origin` (or its own), counting token requests. */
async function challengeServer(
  origin?: string,
): Promise<{ url: string; tokenCalls: () => number; server: Server }> {
  let tokens = 0;
  let url = '';
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/v1/auth/challenge') {
        res.statusCode = 201;
        res.end(
          JSON.stringify({
            challengeId: 'C'.repeat(22),
            challenge: 'x'.repeat(43),
            expiresAt: 0,
            origin: origin ?? url,
          }),
        );
      } else {
        tokens++;
        res.statusCode = 201;
        res.end(JSON.stringify({ token: 't', expiresAt: 0 }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, tokenCalls: () => tokens, server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

describe('console device login', () => {
  it('refuses to sign a challenge for another origin than the one it reached', async () => {
    const relay = await challengeServer('https://custos.example');
    servers.push(relay.server);
    const login = CeremonyDeviceKey.generate().login(new CeremonyApi(relay.url), ORG, DEVICE);
    await expect(login).rejects.toMatchObject({
      name: 'ConsoleError',
      code: 'SERVER_REFUSED',
      message: `the server asks for a signature over origin https://custos.example, but this console reached ${relay.url}: use the server's own URL (its --origin), or tell the operator`,
    });
    expect(relay.tokenCalls()).toBe(0);
  });

  it('signs the challenge of the origin it reached', async () => {
    const own = await challengeServer();
    servers.push(own.server);
    const auth = await CeremonyDeviceKey.generate().login(new CeremonyApi(`${own.url}/`), ORG, DEVICE);
    expect(auth).toEqual({ deviceId: DEVICE, token: 't' });
    expect(own.tokenCalls()).toBe(1);
  });
});
