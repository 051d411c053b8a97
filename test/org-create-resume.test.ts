/**
 * The ceremony SDK against a real (in-process) server: a ceremony interrupted after any step
 * resumes on a rerun with the same `out` and ends with the same org as an uninterrupted one
 * (every bucket registered once, the device revoked, the profiles and shares usable); wrong
 * options, an existing `out` and a mistyped bootstrap token are refused clearly, and so is the
 * org under another origin than the server's, before the bootstrap token is spent.
 * Uses the test-only weak KDF so the many ceremonies stay fast.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { verifyBucketKeyChain } from '@custos/core';
import {
  isConsoleError,
  loadOfficerProfile,
  runCeremony,
  unlockRoot,
  unwrapWithRoot,
  type AdminProfileFile,
  type CeremonyOptions,
  type CeremonyResult,
  type OrgFile,
} from '@custos/console';
import { loadConfig, openStore, startServer, type RunningServer } from '@custos/server';
import { afterAll, describe, expect, it } from 'vitest';
import { enrolDevice, filesUnder, http } from './org-create-support.js';

const TEST_KDF = { allowWeakKdfForTests: true, kdf: { N: 2 ** 4, r: 8, p: 1 } } as const;
const PASSPHRASES = ['officer one passphrase', 'officer two passphrase', 'officer three passphrase'];
const silent = new Writable({ write: (_c, _e, cb) => cb() });

const dirs: string[] = [];
const servers: RunningServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Starts a server on `dir`'s data at `listen` with `extra` settings. */
async function serve(dir: string, listen: string, extra: readonly string[]): Promise<RunningServer> {
  const argv = [
    '--data',
    join(dir, 'data'),
    '--listen',
    listen,
    '--bootstrap-out',
    join(dir, 'boot.txt'),
    ...extra,
  ];
  const s = await startServer(
    loadConfig({ argv, env: {}, cwd: dir }),
    { stdout: silent, stderr: silent },
    { signals: false },
  );
  servers.push(s);
  return s;
}

async function freshServer(
  extra: readonly string[] = [],
): Promise<{ dir: string; url: string; token: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'custos-ceremony-'));
  dirs.push(dir);
  const s = await serve(dir, '127.0.0.1:0', extra);
  return { dir, url: s.url, token: readFileSync(join(dir, 'boot.txt'), 'utf8').trim() };
}

function options(srv: { dir: string; url: string; token: string }, calls: { n: number }): CeremonyOptions {
  return {
    server: srv.url,
    bootstrapToken: srv.token,
    name: 'Resumable Agency',
    officers: 3,
    threshold: 2,
    out: join(srv.dir, 'org'),
    passphrases: async () => {
      calls.n++;
      return PASSPHRASES;
    },
    kdf: TEST_KDF,
  };
}

/** Everything a finished ceremony must give, checked against the server and the files. */
async function checkFinished(srv: { url: string }, r: CeremonyResult): Promise<void> {
  expect(() => statSync(`${r.out}.ceremony-staging`)).toThrow();
  for (const f of filesUnder(r.out)) expect(statSync(f).mode & 0o777, f).toBe(0o600);
  const org = JSON.parse(readFileSync(r.orgFile, 'utf8')) as OrgFile;
  const admin = JSON.parse(readFileSync(r.adminProfile, 'utf8')) as AdminProfileFile;
  const headers = await enrolDevice(srv.url, r.orgId, admin.enrolmentCode);
  const b = await http(srv.url, 'GET', `/v1/orgs/${r.orgId}/buckets`, undefined, headers);
  const buckets = b.json.buckets as { bucketId: string; document: string }[];
  expect(buckets.map((x) => x.bucketId).sort()).toEqual(org.buckets.map((x) => x.bucketId).sort());
  for (const x of buckets) {
    expect(x.document).toBe(org.buckets.find((y) => y.bucketId === x.bucketId)!.document);
    verifyBucketKeyChain(
      Buffer.from(x.document, 'base64url'),
      Buffer.from(org.keyManager.delegation, 'base64url'),
      Buffer.from(org.signingPublicKey, 'base64url'),
    );
  }
  const devices = await http(srv.url, 'GET', `/v1/orgs/${r.orgId}/devices`, undefined, headers);
  expect(
    (devices.json.devices as { revokedAt: number | null }[]).filter((d) => d.revokedAt === null),
  ).toHaveLength(1);
  // Officers 1 and 3 unlock the root; the root and officer 2 open the same bucket key.
  const files = [0, 2].flatMap((i) => r.officers[i]!.shareFiles);
  const passes = [0, 2].flatMap((i) => [PASSPHRASES[i]!, PASSPHRASES[i]!, PASSPHRASES[i]!]);
  const root = await unlockRoot(files, passes, TEST_KDF);
  expect(root.orgId).toBe(r.orgId);
  const officer = await loadOfficerProfile(r.officers[1]!.profileDir, PASSPHRASES[1]!, TEST_KDF);
  for (const bucket of org.buckets) {
    const viaRoot = await unwrapWithRoot(root, Buffer.from(bucket.rootWrap!, 'base64url'));
    const viaOfficer = await officer.unwrapBucket(bucket.bucketId);
    expect(await viaOfficer.privateKey.exportBytes()).toEqual(await viaRoot.privateKey.exportBytes());
  }
}

/** A progress callback that throws (a crash) at the first report of `step`. */
function crashAt(step: string): (e: { step: string }) => void {
  return (e) => {
    if (e.step === step) throw new Error(`simulated crash at ${step}`);
  };
}

describe('runCeremony', () => {
  it('runs through and gives usable profiles, shares and registered buckets', async () => {
    const srv = await freshServer();
    const calls = { n: 0 };
    const r = await runCeremony(options(srv, calls));
    expect(r.resumed).toBe(false);
    expect(calls.n).toBe(1);
    await checkFinished(srv, r);
  });

  for (const step of [
    'keys',
    'register-org',
    'material',
    'enrol-device',
    'register-buckets',
    'admin-profile',
    'revoke-device',
  ]) {
    it(`resumes after a crash at "${step}"`, async () => {
      const srv = await freshServer();
      const calls = { n: 0 };
      await expect(runCeremony(options(srv, calls), crashAt(step))).rejects.toThrow(/simulated crash/);
      expect(() => statSync(join(srv.dir, 'org'))).toThrow();
      const before = calls.n;
      const r = await runCeremony(options(srv, calls));
      // Passphrases are asked for again only while shares are still to be sealed.
      if (['enrol-device', 'register-buckets', 'admin-profile', 'revoke-device'].includes(step))
        expect(calls.n).toBe(before);
      expect(r.resumed).toBe(step !== 'keys');
      await checkFinished(srv, r);
    });
  }

  it('refuses to resume with other options, and refuses an existing output folder', async () => {
    const srv = await freshServer();
    const calls = { n: 0 };
    await expect(runCeremony(options(srv, calls), crashAt('material'))).rejects.toThrow(/simulated crash/);
    const other = { ...options(srv, calls), threshold: 3 };
    await expect(runCeremony(other)).rejects.toSatisfy((e) => isConsoleError(e, 'STAGING_MISMATCH'));
    const r = await runCeremony(options(srv, calls));
    await expect(runCeremony(options(srv, calls))).rejects.toSatisfy((e) => isConsoleError(e, 'OUT_EXISTS'));
    expect(r.resumed).toBe(true);
  });

  it('keeps the staged keys after a mistyped bootstrap token, and resumes with the right one', async () => {
    const srv = await freshServer();
    const calls = { n: 0 };
    const wrong = { ...options(srv, calls), bootstrapToken: `cb1.${'A'.repeat(43)}` };
    await expect(runCeremony(wrong)).rejects.toSatisfy(
      (e) => isConsoleError(e, 'BOOTSTRAP_INVALID') && /Nothing was registered/.test(e.message),
    );
    expect(statSync(join(srv.dir, 'org.ceremony-staging')).isDirectory()).toBe(true);
    const r = await runCeremony(options(srv, calls));
    expect(r.resumed).toBe(true);
    await checkFinished(srv, r);
  });

  it('creates the org only under the origin the server signs, before the token is spent, and resumes once the server takes it', async () => {
    // The operator gave the server another --origin than the URL the ceremony reached (a proxy
    // or a name): no profile the ceremony writes could ever log in there, and a resume keeps
    // its --server, so the server refuses the org itself, naming both origins, and the
    // bootstrap token stays unspent.
    const srv = await freshServer(['--origin', 'https://custos.example']);
    const calls = { n: 0 };
    const refused: unknown = await runCeremony(options(srv, calls)).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'SERVER_REFUSED', serverCode: 'INVALID_REQUEST' });
    const { message } = refused as Error;
    expect(message).toContain(
      `POST /v1/orgs: INVALID_REQUEST: body.origin: this server takes logins for https://custos.example, not ${srv.url}`,
    );
    expect(message).toContain(`have the operator set --origin to ${srv.url}`);
    expect(message).toContain('the bootstrap token is still valid');
    // Nothing past the keys: the org was not created, so no first-admin code exists to lose.
    const journal = JSON.parse(
      readFileSync(join(srv.dir, 'org.ceremony-staging', 'journal.json'), 'utf8'),
    ) as { done: string[] };
    expect(journal.done).toEqual(['keys-sealed']);
    const before = servers.pop()!;
    await before.close();
    const stores = await openStore(
      loadConfig({ argv: ['--data', join(srv.dir, 'data')], env: {}, cwd: srv.dir }).store,
    );
    try {
      expect(await stores.orgs.count()).toBe(0);
      const token = await stores.bootstrap.get(createHash('sha256').update(srv.token).digest());
      expect(token?.consumedAt).toBeNull();
    } finally {
      await stores.close();
    }
    // The operator's fix: the server's origin is the URL the ceremony (and every profile) names.
    // Without an organisation, the restart replaces the token: the rerun takes the new one.
    await serve(srv.dir, new URL(srv.url).host, []);
    const token = readFileSync(join(srv.dir, 'boot.txt'), 'utf8').trim();
    const r = await runCeremony({ ...options(srv, calls), bootstrapToken: token });
    expect(r.resumed).toBe(true);
    await checkFinished(srv, r);
  });

  it('refuses bad options before doing anything', async () => {
    const srv = await freshServer();
    const base = options(srv, { n: 0 });
    for (const bad of [
      { officers: 1 },
      { threshold: 1 },
      { threshold: 4 },
      { server: 'ftp://x' },
      { bootstrapToken: 'nope' },
      { name: ' ' },
    ]) {
      await expect(runCeremony({ ...base, ...bad }), JSON.stringify(bad)).rejects.toSatisfy((e) =>
        isConsoleError(e, 'INVALID_OPTIONS'),
      );
    }
    const short = { ...base, passphrases: async () => ['short', 'short', 'short'] };
    await expect(runCeremony(short)).rejects.toSatisfy((e) => isConsoleError(e, 'INVALID_OPTIONS'));
  });
});
