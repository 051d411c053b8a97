/**
 * Adopting a newer signed officer list (officer-list-refresh.ts): a list signed by the pinned
 * org key and issued later than the profile's is written to org.json; the same list again
 * changes nothing; a list signed by another key, with a flipped byte, for another org or older
 * than the adopted one is refused and org.json stays as it was.
 */
import { sealOfficerList } from '@custos/core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isConsoleError } from './console-error.js';
import { openSignedOfficerList, refreshOfficerList } from './officer-list-refresh.js';
import { writePrivateFile } from './private-files.js';
import { formatProfileFile, type OrgFile } from './profile-files.js';
import { keyFingerprint, SigningKey } from './signing-key.js';

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64url');
const ORG = 'AAAAAAAAAAAAAAAAAAAAAA';

describe('refreshOfficerList', () => {
  const dir = mkdtempSync(join(tmpdir(), 'custos-officer-list-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const orgKey = SigningKey.generate();
  const pin = keyFingerprint(orgKey.publicKey);
  const pk = (n: number) => new Uint8Array(40).fill(n);
  const org: OrgFile = {
    format: 'custos-org',
    version: 1,
    orgId: ORG,
    name: 'Example',
    server: 'http://127.0.0.1:1',
    signingPublicKey: b64(orgKey.publicKey),
    signingKeyFingerprint: pin,
    rootArchivePublicKey: b64(pk(9)),
    rootArchiveKeyFingerprint: 'x',
    keyManager: { publicKey: 'k', delegation: 'd', notBefore: 0, notAfter: 1 },
    officerQuorum: 2,
    officers: [
      { index: 0, publicKey: b64(pk(1)) },
      { index: 1, publicKey: b64(pk(2)) },
    ],
    buckets: [],
  };
  writePrivateFile(join(dir, 'org.json'), formatProfileFile(org));
  const list = (issuedAt: number, over: { org?: string; key?: SigningKey; n?: number } = {}) =>
    sealOfficerList(
      {
        org: over.org ?? ORG,
        quorum: 2,
        officers: Array.from({ length: over.n ?? 3 }, (_, i) => ({ index: i, publicKey: pk(i + 1) })),
        demote: [],
        issuedAt,
      },
      over.key ?? orgKey,
    );
  const serve =
    (doc: Uint8Array | undefined, key = orgKey) =>
    () =>
      Promise.resolve({
        signingPublicKey: b64(key.publicKey),
        ...(doc === undefined ? {} : { officerList: b64(doc) }),
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

  it('adopts a newer list, once', async () => {
    expect(await refreshOfficerList(dir, org, pin, serve(undefined))).toBeNull();
    const r = await refreshOfficerList(dir, org, pin, serve(list(1000)));
    expect(r?.added).toEqual([2]);
    expect(r?.removed).toEqual([]);
    expect(onDisk()).toMatchObject({ officerQuorum: 2, officerListIssuedAt: 1000 });
    expect(onDisk().officers.map((o) => o.index)).toEqual([0, 1, 2]);
    // The ceremony's list stays in org.json: older certificates are checked against it.
    const ceremony = { quorum: org.officerQuorum, officers: org.officers };
    expect(onDisk().ceremonyOfficerList).toEqual(ceremony);
    expect(await refreshOfficerList(dir, onDisk(), pin, serve(list(1000)))).toBeNull();
    const fewer = await refreshOfficerList(dir, onDisk(), pin, serve(list(2000, { n: 2 })));
    expect(fewer?.removed).toEqual([2]);
    expect(onDisk().ceremonyOfficerList).toEqual(ceremony);
  });

  it('refuses forged, tampered, foreign and older lists and changes nothing', async () => {
    const before = readFileSync(join(dir, 'org.json'), 'utf8');
    const tampered = list(3000);
    tampered[tampered.length - 1]! ^= 1;
    const other = SigningKey.generate();
    expect((await refusal(refreshOfficerList(dir, onDisk(), pin, serve(tampered)))).message).toMatch(
      /does not verify/,
    );
    expect(
      (await refusal(refreshOfficerList(dir, onDisk(), pin, serve(list(3000, { key: other }))))).message,
    ).toMatch(/does not verify/);
    expect(
      (await refusal(refreshOfficerList(dir, onDisk(), pin, serve(list(3000, { key: other }), other))))
        .message,
    ).toMatch(/another org signing key/);
    expect(
      (
        await refusal(
          refreshOfficerList(dir, onDisk(), pin, serve(list(3000, { org: 'BBBBBBBBBBBBBBBBBBBBBB' }))),
        )
      ).message,
    ).toMatch(/another organisation/);
    expect((await refusal(refreshOfficerList(dir, onDisk(), pin, serve(list(1500))))).message).toMatch(
      /rollback/,
    );
    expect(readFileSync(join(dir, 'org.json'), 'utf8')).toBe(before);
    expect(() => openSignedOfficerList(new Uint8Array([1, 2, 3]), orgKey.publicKey)).toThrow();
  });
});
