/**
 * Adopting a newer root-archive-key statement (root-key-statement.ts): a statement signed by
 * the pinned org key and issued later than the profile's is written to org.json (new root key
 * and fingerprint); the same statement again changes nothing; one signed by another key, with a
 * flipped byte, for another org or older than the adopted one is refused and org.json stays as
 * it was.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRootKeyStatement, sealRootKeyStatement } from '@custos/core';
import { afterAll, describe, expect, it } from 'vitest';
import { isConsoleError } from './console-error.js';
import { writePrivateFile } from './private-files.js';
import { formatProfileFile, type OrgFile } from './profile-files.js';
import { refreshRootKey } from './root-key-statement.js';
import { keyFingerprint, SigningKey } from './signing-key.js';

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64url');
const ORG = 'AAAAAAAAAAAAAAAAAAAAAA';

describe('root-archive-key statements', () => {
  const dir = mkdtempSync(join(tmpdir(), 'custos-root-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const orgKey = SigningKey.generate();
  const pin = keyFingerprint(orgKey.publicKey);
  const pk = (n: number) => new Uint8Array(32).fill(n);
  const org: OrgFile = {
    format: 'custos-org',
    version: 1,
    orgId: ORG,
    name: 'Example',
    server: 'http://127.0.0.1:1',
    signingPublicKey: b64(orgKey.publicKey),
    signingKeyFingerprint: pin,
    rootArchivePublicKey: b64(pk(9)),
    rootArchiveKeyFingerprint: keyFingerprint(pk(9)),
    keyManager: { publicKey: 'k', delegation: 'd', notBefore: 0, notAfter: 1 },
    officerQuorum: 2,
    officers: [],
    buckets: [],
  };
  writePrivateFile(join(dir, 'org.json'), formatProfileFile(org));
  const statement = (issuedAt: number, over: { org?: string; key?: SigningKey; pk?: number } = {}) =>
    sealRootKeyStatement(
      { org: over.org ?? ORG, publicKey: pk(over.pk ?? 1), previous: pk(9), issuedAt },
      over.key ?? orgKey,
    );
  const serve =
    (doc: Uint8Array | undefined, key = orgKey) =>
    () =>
      Promise.resolve({
        signingPublicKey: b64(key.publicKey),
        ...(doc === undefined ? {} : { rootKeyStatement: b64(doc) }),
      });
  const onDisk = () => JSON.parse(readFileSync(join(dir, 'org.json'), 'utf8')) as OrgFile;
  const refusal = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isConsoleError(e), String(e)).toBe(true);
    return e as Error;
  };

  it('round-trips and binds every field', () => {
    const s = openRootKeyStatement(statement(1000), orgKey.publicKey);
    expect(s).toEqual({ org: ORG, publicKey: pk(1), previous: pk(9), issuedAt: 1000 });
    const tampered = statement(1000);
    for (let i = 0; i < tampered.length; i += 7) {
      const t = Uint8Array.from(tampered);
      t[i]! ^= 1;
      expect(() => openRootKeyStatement(t, orgKey.publicKey)).toThrow();
    }
  });

  it('adopts a newer statement, once', async () => {
    expect(await refreshRootKey(dir, org, pin, serve(undefined))).toBeNull();
    const r = await refreshRootKey(dir, org, pin, serve(statement(1000)));
    expect(r?.statement.issuedAt).toBe(1000);
    expect(onDisk()).toMatchObject({
      rootArchivePublicKey: b64(pk(1)),
      rootArchiveKeyFingerprint: keyFingerprint(pk(1)),
      rootKeyIssuedAt: 1000,
    });
    expect(await refreshRootKey(dir, onDisk(), pin, serve(statement(1000)))).toBeNull();
  });

  it('refuses forged, tampered, foreign and older statements and changes nothing', async () => {
    const before = readFileSync(join(dir, 'org.json'), 'utf8');
    const tampered = statement(3000, { pk: 2 });
    tampered[tampered.length - 1]! ^= 1;
    const other = SigningKey.generate();
    const cases: [Promise<unknown>, RegExp][] = [
      [refreshRootKey(dir, onDisk(), pin, serve(tampered)), /does not verify/],
      [refreshRootKey(dir, onDisk(), pin, serve(statement(3000, { key: other }))), /does not verify/],
      [
        refreshRootKey(dir, onDisk(), pin, serve(statement(3000, { key: other }), other)),
        /another org signing key/,
      ],
      [
        refreshRootKey(dir, onDisk(), pin, serve(statement(3000, { org: 'BBBBBBBBBBBBBBBBBBBBBB' }))),
        /another organisation/,
      ],
      [refreshRootKey(dir, onDisk(), pin, serve(statement(500, { pk: 3 }))), /rollback/],
    ];
    for (const [p, message] of cases) expect((await refusal(p)).message).toMatch(message);
    expect(readFileSync(join(dir, 'org.json'), 'utf8')).toBe(before);
    expect(() => openRootKeyStatement(new Uint8Array([1, 2, 3]), orgKey.publicKey)).toThrow();
  });
});
