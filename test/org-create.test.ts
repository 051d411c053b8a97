/**
 * End to end: `custos org create` as a real process against a real `custos server` process
 * (docs/ceremony.md). Checks the --json output, file and folder modes, that any 2 of the 3
 * officers' share files recover each org secret and 1 does not, that the server's data folder
 * holds none of the private keys or shares, that the first admin enrols with the profile's
 * code and fetches bucket keys whose signature chain verifies, and that a second run with the
 * same bootstrap token fails clearly.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  combineShares,
  isCustosError,
  openShareFile,
  type OpenedShareFile,
  type ShareSecretKind,
  openBucketKeyDocument,
  openKeyManagerDelegation,
  verifyBucketKeyChain,
} from '@custos/core';
import {
  CEREMONY_SECRET_KINDS,
  keyFingerprint,
  loadOfficerProfile,
  SigningKey,
  unwrapBucketKey,
  x25519PublicKeyOf,
  type AdminProfileFile,
  type CeremonyResult,
  type OrgFile,
} from '@custos/console';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  enrolDevice,
  filesUnder,
  http,
  runCustos,
  secretsFoundIn,
  startServerProcess,
  type CliRun,
  type ServerProcess,
} from './org-create-support.js';

/** The ceremony runs the full-strength KDF 12 times, and opening the 9 share files 9 more: slow on a busy machine. */
const CEREMONY_TIMEOUT_MS = 600_000;
const PASSPHRASES = ['officer one passphrase', 'officer two passphrase', 'officer three passphrase'];

describe('custos org create (processes)', () => {
  let dir: string;
  let server: ServerProcess;
  let run: CliRun;
  let result: CeremonyResult;
  let org: OrgFile;
  const opened = new Map<string, OpenedShareFile>();
  const key = (officer: number, kind: ShareSecretKind): string => `${officer}/${kind}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-org-create-'));
    server = await startServerProcess(dir);
    const ppFile = join(dir, 'passphrases.txt');
    writeFileSync(ppFile, `${PASSPHRASES.join('\n')}\n`, { mode: 0o600 });
    run = await runCustos([
      'org',
      'create',
      '--server',
      server.url,
      '--bootstrap',
      server.bootstrapToken,
      '--name',
      'Acme Records Agency',
      '--officers',
      '3',
      '--threshold',
      '2',
      '--out',
      join(dir, 'acme'),
      '--passphrase-file',
      ppFile,
      '--json',
    ]);
    if (run.status !== 0) throw new Error(`org create failed (${run.status}): ${run.stderr}`);
    result = JSON.parse(run.stdout) as CeremonyResult;
    org = JSON.parse(readFileSync(result.orgFile, 'utf8')) as OrgFile;
    // Open every share file once (the full-strength KDF is slow); pairs are combined below.
    const jobs = result.officers.flatMap((o) =>
      CEREMONY_SECRET_KINDS.map(async (kind, k) => {
        const f = await openShareFile(readFileSync(o.shareFiles[k]!, 'utf8'), PASSPHRASES[o.officerIndex]!);
        expect(f.secretKind).toBe(kind);
        opened.set(key(o.officerIndex, kind), f);
      }),
    );
    await Promise.all(jobs);
  }, CEREMONY_TIMEOUT_MS);

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the org id, fingerprints and every profile and share path as JSON, progress on stderr', () => {
    expect(result.orgId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(result.signingKeyFingerprint).toBe(org.signingKeyFingerprint);
    expect(result.signingKeyFingerprint).toBe(keyFingerprint(Buffer.from(org.signingPublicKey, 'base64url')));
    expect(result.rootArchiveKeyFingerprint).toBe(
      keyFingerprint(Buffer.from(org.rootArchivePublicKey, 'base64url')),
    );
    expect(result.officers.map((o) => o.shareIndex)).toEqual([1, 2, 3]);
    expect(result.buckets).toHaveLength(6);
    for (const p of [
      result.adminProfile,
      result.orgFile,
      ...result.officers.flatMap((o) => [o.profileDir, ...o.shareFiles]),
    ]) {
      expect(() => statSync(p), p).not.toThrow();
    }
    for (const step of [
      '[keys]',
      '[register-org]',
      '[material]',
      '[enrol-device]',
      '[register-buckets]',
      '[revoke-device]',
    ]) {
      expect(run.stderr).toContain(step);
    }
    for (const p of PASSPHRASES) expect(run.stdout + run.stderr).not.toContain(p);
    expect(run.stdout + run.stderr).not.toContain(server.bootstrapToken);
  });

  it('writes folders 0700 and files 0600, and leaves no staging folder', () => {
    for (const f of filesUnder(result.out)) expect(statSync(f).mode & 0o777, f).toBe(0o600);
    for (const d of [
      result.out,
      result.officers[0]!.profileDir,
      join(result.out, 'shares', 'officer-2'),
      join(result.out, 'admin'),
    ]) {
      expect(statSync(d).mode & 0o777, d).toBe(0o700);
    }
    expect(() => statSync(`${result.out}.ceremony-staging`)).toThrow();
  });

  it('recovers each org secret from any 2 of the 3 share files, and from 1 it does not', async () => {
    const signing = Buffer.from(org.signingPublicKey, 'base64url');
    const rootPub = Buffer.from(org.rootArchivePublicKey, 'base64url');
    let index: Uint8Array | undefined;
    for (const [a, b] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const) {
      const pair = (kind: ShareSecretKind) => [
        opened.get(key(a, kind))!.share,
        opened.get(key(b, kind))!.share,
      ];
      expect(SigningKey.fromSeed(await combineShares(pair('org-signing-key'))).publicKey).toEqual(
        new Uint8Array(signing),
      );
      expect((await x25519PublicKeyOf(await combineShares(pair('org-root-archive-key')))).toBytes()).toEqual(
        new Uint8Array(rootPub),
      );
      const idx = await combineShares(pair('org-index-secret'));
      index ??= idx;
      expect(idx).toEqual(index);
    }
    for (const kind of CEREMONY_SECRET_KINDS) {
      for (const o of [0, 1, 2]) {
        await expect(combineShares([opened.get(key(o, kind))!.share])).rejects.toSatisfy((e) =>
          isCustosError(e, 'SHARES_INSUFFICIENT'),
        );
      }
    }
  });

  it('leaves none of the private keys, shares or wrapped plaintexts in the server data folder', async () => {
    const secrets = new Map<string, Uint8Array>();
    const pair = (kind: ShareSecretKind) => [
      opened.get(key(0, kind))!.share,
      opened.get(key(2, kind))!.share,
    ];
    const rootSecret = await combineShares(pair('org-root-archive-key'));
    secrets.set('org signing key', await combineShares(pair('org-signing-key')));
    secrets.set('root archive key', rootSecret);
    secrets.set('org index secret', await combineShares(pair('org-index-secret')));
    for (const [k, f] of opened) secrets.set(`share ${k}`, f.share.share);
    const officer = await loadOfficerProfile(result.officers[1]!.profileDir, PASSPHRASES[1]!);
    secrets.set('key-manager key', officer.keys.keyManager.exportSeed());
    secrets.set('officer 2 signing key', officer.keys.signingKey.exportSeed());
    secrets.set('officer 2 wrap key', await officer.keys.hpkePrivateKey.exportBytes());
    const { BucketPrivateKey } = await import('@custos/core');
    const root = await BucketPrivateKey.fromBytes(rootSecret);
    for (const b of org.buckets) {
      const w = await unwrapBucketKey(Buffer.from(b.rootWrap!, 'base64url'), root);
      secrets.set(`bucket ${b.bucketId}`, await w.privateKey.exportBytes());
      const viaOfficer = await officer.unwrapBucket(b.bucketId);
      expect(await viaOfficer.privateKey.exportBytes()).toEqual(secrets.get(`bucket ${b.bucketId}`));
    }
    // Positive control: public material registered at creation is found by the same search.
    const control = new Map([
      ['org signing public key', new Uint8Array(Buffer.from(org.signingPublicKey, 'base64url'))],
    ]);
    expect(secretsFoundIn(server.dataDir, control)).toEqual(['org signing public key']);
    expect(secretsFoundIn(server.dataDir, secrets)).toEqual([]);
  });

  it('gives the first admin a working enrolment code; bucket keys fetched from the server verify along the chain', async () => {
    const admin = JSON.parse(readFileSync(result.adminProfile, 'utf8')) as AdminProfileFile;
    expect(admin).toMatchObject({
      server: server.url,
      orgId: result.orgId,
      signingKeyFingerprint: result.signingKeyFingerprint,
    });
    expect(admin.enrolmentCode.endsWith(`.${result.signingKeyFingerprint}`)).toBe(true);
    const headers = await enrolDevice(server.url, admin.orgId, admin.enrolmentCode);
    const o = await http(server.url, 'GET', `/v1/orgs/${admin.orgId}`, undefined, headers);
    const signing = Buffer.from(o.json.signingPublicKey as string, 'base64url');
    expect(keyFingerprint(signing)).toBe(admin.signingKeyFingerprint); // the pin
    const delegation = Buffer.from((o.json.keyManager as { delegation: string }).delegation, 'base64url');
    const b = await http(server.url, 'GET', `/v1/orgs/${admin.orgId}/buckets`, undefined, headers);
    const buckets = b.json.buckets as { bucketId: string; document: string; publicKey: string }[];
    expect(buckets.map((x) => x.bucketId).sort()).toEqual([...result.buckets].sort());
    for (const x of buckets) {
      const doc = verifyBucketKeyChain(Buffer.from(x.document, 'base64url'), delegation, signing);
      expect(doc.org).toBe(admin.orgId);
      expect(Buffer.from(doc.publicKey).toString('base64url')).toBe(x.publicKey);
      // The server's own verifier agrees with the console's encoding.
      const d = openKeyManagerDelegation(delegation, signing);
      expect(openBucketKeyDocument(Buffer.from(x.document, 'base64url'), d.key).bucket).toBe(x.bucketId);
    }
    // The transient ceremony device is revoked: only the admin's new device is active.
    const devices = await http(server.url, 'GET', `/v1/orgs/${admin.orgId}/devices`, undefined, headers);
    const rows = devices.json.devices as { revokedAt: number | null }[];
    expect(rows.filter((r) => r.revokedAt === null)).toHaveLength(1);
    expect(rows.filter((r) => r.revokedAt !== null)).toHaveLength(1);
  });

  it(
    'fails clearly, with a non-zero exit, when run again with the same bootstrap token',
    async () => {
      // One line serves every officer (the automation form); 2 officers keep the KDF work short.
      const onePass = join(dir, 'one-passphrase.txt');
      writeFileSync(onePass, `${PASSPHRASES[0]}\n`, { mode: 0o600 });
      const again = await runCustos([
        'org',
        'create',
        '--server',
        server.url,
        '--bootstrap',
        server.bootstrapToken,
        '--name',
        'Acme Records Agency',
        '--officers',
        '2',
        '--threshold',
        '2',
        '--out',
        join(dir, 'acme-again'),
        '--passphrase-file',
        onePass,
      ]);
      expect(again.status).not.toBe(0);
      expect(again.stderr).toMatch(/bootstrap token because it has already been used/);
      expect(again.stderr).toMatch(/Nothing was registered by this run/);
      expect(() => statSync(join(dir, 'acme-again'))).toThrow();
      expect(() => statSync(join(dir, 'acme-again.ceremony-staging'))).toThrow();
    },
    CEREMONY_TIMEOUT_MS,
  );
});
