/**
 * A second organisation on one install: `custos server bootstrap-token` issues a new one-time
 * token while the real server runs; a second org is created with it and works; the token
 * works once; an identical retry of POST /v1/orgs is answered as the first call.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { httpFetch, type HttpFetch } from '@custos/client';
import { isConsoleError, runCeremony, type CeremonyOptions } from '@custos/console';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOrg,
  startServer,
  stopServer,
  tempDir,
  type ServerProcess,
  type TestOrg,
} from './client-support.js';
import { ROOT } from './server-process.js';

const MAIN = join(ROOT, 'packages/cli/dist/main.js');
const run = promisify(execFile);

/** Runs `custos server bootstrap-token …`; resolves to exit code and output. */
async function bootstrapToken(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CUSTOS_')));
  try {
    const r = await run(process.execPath, [MAIN, 'server', 'bootstrap-token', ...args], { env });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: x.code ?? -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

async function postOrg(server: ServerProcess, body: Record<string, unknown>) {
  const res = await fetch(`${server.url}/v1/orgs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function orgBody(token: string): Record<string, unknown> {
  const b64 = (n: number) => randomBytes(n).toString('base64url');
  return {
    bootstrapToken: token,
    name: 'Retry Agency',
    signingPublicKey: b64(32),
    rootArchivePublicKey: b64(32),
    keyManager: { delegation: b64(100), notBefore: Date.now() - 1000, notAfter: Date.now() + 86_400_000 },
    officers: [{ publicKey: b64(32) }],
    officerQuorum: 1,
  };
}

describe('custos server bootstrap-token (real server process)', () => {
  let dir: string;
  let server: ServerProcess;
  let first: TestOrg;
  beforeAll(async () => {
    dir = tempDir('custos-bt-');
    server = await startServer(dir);
    first = await createOrg(server, join(dir, 'org1'), 'First Agency');
  }, 180_000);
  afterAll(async () => {
    await first?.admin.close();
    await first?.officer.close();
    if (server !== undefined) await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('issues a token while the server runs; a second organisation is created with it and works', async () => {
    const out = join(dir, 'second.token');
    const r = await bootstrapToken(['--data', server.dataDir, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as { file: string; expiresAt: number; outstanding: number };
    expect(printed.file).toBe(out);
    expect(printed.outstanding).toBe(1);
    expect(printed.expiresAt).toBeGreaterThan(Date.now());
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const token = readFileSync(out, 'utf8').trim();
    expect(token).toMatch(/^cb1\.[A-Za-z0-9_-]{43}$/);
    expect(r.stdout).not.toContain(token);

    const second = await createOrg({ ...server, bootstrapToken: token }, join(dir, 'org2'), 'Second Agency');
    try {
      expect(second.orgId).not.toBe(first.orgId);
      const session = (await second.admin.api.request('GET', '/v1/session')) as {
        orgId: string;
        role: string;
      };
      expect(session).toMatchObject({ orgId: second.orgId, role: 'admin' });
      // The token worked once.
      const again = await postOrg(server, orgBody(token));
      expect(again.status).toBe(409);
      expect((again.json.error as { code: string }).code).toBe('BOOTSTRAP_USED');
    } finally {
      await second.admin.close();
      await second.officer.close();
    }
    // Neither token is in the server's log lines.
    expect(server.stderr).not.toContain(token);
  }, 180_000);

  it('answers an identical retry of POST /v1/orgs as the first call (a lost response does not burn the token)', async () => {
    const r = await bootstrapToken(['--data', server.dataDir]);
    expect(r.code, r.stderr).toBe(0);
    const token = /Bootstrap token: (cb1\.\S+)/.exec(r.stdout)?.[1] ?? '';
    expect(token).not.toBe('');
    const body = orgBody(token);
    const a = await postOrg(server, body);
    expect(a.status).toBe(201);
    const b = await postOrg(server, body);
    expect(b.status).toBe(201);
    expect(b.json).toEqual({ ...a.json, replayed: true });
    const c = await postOrg(server, { ...body, name: 'Another' });
    expect(c.status).toBe(409);
  }, 60_000);

  it('lets the key ceremony complete after the answer to POST /v1/orgs was lost', async () => {
    const r = await bootstrapToken(['--data', server.dataDir, '--json']);
    const { token } = JSON.parse(r.stdout) as { token: string };
    const out = join(dir, 'ceremony-org');
    const options: CeremonyOptions = {
      server: server.url,
      bootstrapToken: token,
      name: 'Ceremony Agency',
      officers: 2,
      threshold: 2,
      out,
      passphrases: async () => ['officer one passphrase', 'officer two passphrase'],
      kdf: { allowWeakKdfForTests: true, kdf: { N: 2 ** 4, r: 8, p: 1 } },
    };
    // The server commits the org, then the connection drops before the answer arrives.
    let dropped = 0;
    const dropping: HttpFetch = async (url, init) => {
      const res = await httpFetch(url, init);
      if (url.endsWith('/v1/orgs') && init?.method === 'POST' && dropped++ === 0)
        throw new TypeError('fetch failed');
      return res;
    };
    await expect(runCeremony({ ...options, fetch: dropping })).rejects.toSatisfy((e) =>
      isConsoleError(e, 'SERVER_UNREACHABLE'),
    );
    expect(dropped).toBe(1);
    // The rerun resumes, sends the identical request, gets the same org back and finishes.
    const done = await runCeremony(options);
    expect(done.resumed).toBe(true);
    expect(done.buckets.length).toBeGreaterThan(0);
    const admin = JSON.parse(readFileSync(done.adminProfile, 'utf8')) as { orgId: string };
    expect(admin.orgId).toBe(done.orgId);
    // The transient ceremony device enrolled as the first admin: the token is spent for good.
    const again = await postOrg(server, orgBody(token));
    expect(again.status).toBe(409);
  }, 180_000);

  it('refuses a data folder without a database, and bad arguments, issuing nothing', async () => {
    const empty = join(dir, 'empty');
    const r = await bootstrapToken(['--data', empty]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no Custos database/);
    expect(r.stdout).toBe('');
    const bad = await bootstrapToken(['--data', server.dataDir, '--nope']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
  }, 60_000);
});
