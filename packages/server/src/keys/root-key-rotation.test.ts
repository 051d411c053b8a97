/**
 * Rotating the root archive key (POST /v1/orgs/:orgId/root-archive-key/rotations), through the
 * app on every backend: forged, stale, replayed, reused-key, incomplete and over-complete
 * rotations change nothing; a valid one replaces every live bucket's root wrap and the
 * key-manager key's root wrap (superseded keys' root wraps go), logs a key event and is served
 * to officers; the same statement again is idempotent; a statement for the old root is refused.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { decodeLogEntry, sealKeyManagerDelegation, sealRootKeyStatement } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketDocument, TEST_WINDOW } from '../archive/archive-test-support.js';
import type { OrgId } from '../ids.js';
import type { Role } from '../store/records.js';
import {
  call,
  createTestApp,
  enrolAndLogin,
  enrolNewUser,
  orgCreateBody,
  type TestApp,
  type TestDevice,
  bindOfficer,
  testOfficers,
} from '../testing/test-app.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import { ROOT_KEY_ROTATED_EVENT_KIND, ROOT_KEY_SKEW_MS } from './root-key-rotation.js';

const raw = (k: KeyObject): Buffer => Buffer.from(k.export({ format: 'jwk' }).x ?? '', 'base64url');
const b64u = (u: Uint8Array): string => Buffer.from(u).toString('base64url');
const NOW = 1_800_000_000_000;

for (const backend of TEST_BACKENDS) {
  const title = `root archive key rotation: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let t: TestApp;
    let orgId: OrgId;
    let officer: TestDevice;
    let member: TestDevice;
    let root0: Buffer;
    const orgKey = generateKeyPairSync('ed25519');
    const km = generateKeyPairSync('ed25519');
    const km2 = generateKeyPairSync('ed25519');
    const root1 = randomBytes(32);
    const statement = (
      pk: Uint8Array,
      prv: Uint8Array,
      issuedAt = NOW,
      signer = orgKey.privateKey,
      org = orgId,
    ) => sealRootKeyStatement({ org, publicKey: pk, previous: prv, issuedAt }, signer);
    const WRAPS = ['b-1', 'b-2'].map((bucketId) => ({
      bucketId,
      blob: b64u(Buffer.from(`new ${bucketId}`)),
    }));
    const rotate = (s: Uint8Array, wraps = WRAPS, kmWrap: string | null = 'S00', who: TestDevice = officer) =>
      call(
        t.app,
        'POST',
        `/v1/orgs/${orgId}/root-archive-key/rotations`,
        { statement: b64u(s), wraps, ...(kmWrap === null ? {} : { keyManagerWrap: kmWrap }) },
        who.headers(),
      );
    const code = (r: { json: <T>() => T }): string => r.json<{ error: { code: string } }>().error.code;
    const rootWraps = async (bucket: string) =>
      (await tb.stores.buckets.blobsForBucket(orgId, 'officer-wrap', bucket)).filter(
        (b) => b.recipient === 'root',
      );
    const kmRootWraps = async () =>
      (await tb.stores.orgs.keyManagerRotations(orgId)).flatMap((r) =>
        r.wraps.filter((w) => w.recipient === 'root').map((w) => ({ seq: r.seq, blob: w.blob.toString() })),
      );

    beforeAll(async () => {
      tb = await backend.open();
      t = await createTestApp(tb.stores);
      t.clock.now = NOW - 10_000;
      const officers = testOfficers();
      const body = {
        ...orgCreateBody(t.bootstrapToken, officers),
        signingPublicKey: b64u(raw(orgKey.publicKey)),
        keyManager: {
          delegation: b64u(
            sealKeyManagerDelegation({ key: raw(km.publicKey), ...TEST_WINDOW }, orgKey.privateKey),
          ),
          ...TEST_WINDOW,
        },
      };
      const r = await call(t.app, 'POST', '/v1/orgs', body);
      ({ orgId } = r.json<{ orgId: OrgId }>());
      root0 = (await tb.stores.orgs.get(orgId))!.rootArchivePublicKey;
      const admin = await enrolAndLogin(t.app, orgId, r.json<{ enrolmentCode: string }>().enrolmentCode);
      const enrol = (role: Role) => enrolNewUser(t.app, admin, role);
      officer = await enrol('officer');
      await bindOfficer(t.app, officer, officers[0]!, 0, t.clock.now);
      member = await enrol('member');
      for (const id of ['b-1', 'b-2']) {
        const { document } = await bucketDocument(orgId, km.privateKey, id, {
          notBefore: NOW,
          notAfter: NOW + 1000,
        });
        expect(
          (
            await call(
              t.app,
              'POST',
              `/v1/orgs/${orgId}/buckets`,
              { document: b64u(document) },
              officer.headers(),
            )
          ).statusCode,
        ).toBe(201);
      }
      // b-1 has a root wrap on the server (a bucket made after the ceremony); b-2's is only in org.json.
      const put = await call(
        t.app,
        'PUT',
        `/v1/orgs/${orgId}/buckets/b-1/officer-wraps/root`,
        { blob: b64u(Buffer.from('old b-1')) },
        officer.headers(),
      );
      expect(put.statusCode, put.body).toBe(200);
      // A key-manager rotation: its wraps (root too) are on the server.
      const d = sealKeyManagerDelegation(
        { key: raw(km2.publicKey), notBefore: NOW - 9_000, notAfter: TEST_WINDOW.notAfter },
        orgKey.privateKey,
      );
      const wraps = ['root', ...(await tb.stores.orgs.get(orgId))!.officers.map((o) => String(o.index))].map(
        (recipient) => ({ recipient, blob: b64u(Buffer.from(`km ${recipient}`)) }),
      );
      const rot = await call(
        t.app,
        'POST',
        `/v1/orgs/${orgId}/key-manager/rotations`,
        { delegation: b64u(d), wraps },
        officer.headers(),
      );
      expect(rot.statusCode, rot.body).toBe(200);
      t.clock.now = NOW;
    });
    afterAll(async () => {
      await t?.app.close();
      await tb?.dispose();
    });

    it('tells an officer what a rotation must re-wrap', async () => {
      const r = await call(t.app, 'GET', `/v1/orgs/${orgId}/root-archive-key`, undefined, officer.headers());
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toEqual({
        rootArchivePublicKey: b64u(root0),
        buckets: ['b-1', 'b-2'],
        keyManagerWrap: true,
      });
      expect(
        (await call(t.app, 'GET', `/v1/orgs/${orgId}/root-archive-key`, undefined, member.headers()))
          .statusCode,
      ).toBe(403);
    });

    it('refuses forged, stale, reused-key, mistimed and incomplete rotations, changing nothing', async () => {
      const other = generateKeyPairSync('ed25519');
      const invalid = [
        statement(root1, root0, NOW, other.privateKey), // not signed by the org key
        statement(root1, randomBytes(32)), // replaces another key than the current one
        statement(root1, root0, NOW - ROOT_KEY_SKEW_MS - 1), // issued too long ago
        statement(root1, root0, NOW + ROOT_KEY_SKEW_MS + 1), // in the future
        statement(root1, root0, NOW, orgKey.privateKey, 'another-org' as OrgId),
      ];
      for (const s of invalid) {
        const r = await rotate(s);
        expect(r.statusCode, r.body).toBe(409);
        expect(code(r)).toBe('ROOT_KEY_INVALID');
      }
      const partial = await rotate(statement(root1, root0), WRAPS.slice(0, 1));
      expect(partial.statusCode, partial.body).toBe(400);
      expect(partial.body).toContain('missing: b-2');
      const extra = await rotate(statement(root1, root0), [...WRAPS, { bucketId: 'nope', blob: 'AA' }]);
      expect(extra.body).toContain('not expected: nope');
      expect((await rotate(statement(root1, root0), WRAPS, null)).statusCode).toBe(400);
      expect((await rotate(statement(root1, root0), WRAPS, 'S00', member)).statusCode).toBe(403);
      expect((await tb.stores.orgs.get(orgId))!.rootArchivePublicKey).toEqual(root0);
      expect(await tb.stores.orgs.rootKeyRotations(orgId)).toEqual([]);
      expect((await rootWraps('b-1')).map((w) => w.blob.toString())).toEqual(['old b-1']);
      expect(await kmRootWraps()).toEqual([{ seq: 1, blob: 'km root' }]);
    });

    it('installs the new root, replaces every root wrap and logs it; the same statement again is idempotent', async () => {
      const s = statement(root1, root0);
      const r = await rotate(s);
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toEqual({ rootArchivePublicKey: b64u(root1), changed: true, rewrapped: 2 });
      expect((await tb.stores.orgs.get(orgId))!.rootArchivePublicKey).toEqual(root1);
      for (const b of ['b-1', 'b-2'])
        expect((await rootWraps(b)).map((w) => w.blob.toString())).toEqual([`new ${b}`]);
      expect(await kmRootWraps()).toEqual([{ seq: 1, blob: Buffer.from('S00', 'base64url').toString() }]);
      const [rotation] = await tb.stores.orgs.rootKeyRotations(orgId);
      expect(rotation).toMatchObject({ seq: 1, superseded: root0, issuedAt: NOW });
      const [entry] = await tb.stores.log.entries(orgId, rotation!.logIndex, rotation!.logIndex + 1);
      expect(decodeLogEntry(entry!)).toMatchObject({
        kind: ROOT_KEY_ROTATED_EVENT_KIND,
        subject: 'root-archive-key',
      });
      const org = await call(t.app, 'GET', `/v1/orgs/${orgId}`, undefined, member.headers());
      expect(org.json()).toMatchObject({ rootArchivePublicKey: b64u(root1), rootKeyStatement: b64u(s) });
      const again = await rotate(s);
      expect(again.json()).toEqual({ rootArchivePublicKey: b64u(root1), changed: false, rewrapped: 0 });
      expect(await tb.stores.orgs.rootKeyRotations(orgId)).toHaveLength(1);
    });

    it('refuses a replayed statement for the old root and going back to an earlier key', async () => {
      const replay = await rotate(statement(randomBytes(32), root0, NOW + 5));
      expect(code(replay)).toBe('ROOT_KEY_INVALID');
      expect(replay.body).toContain('stale or replayed');
      const back = await rotate(statement(root0, root1, NOW + 5));
      expect(back.body).toContain('has used');
      const older = await rotate(statement(randomBytes(32), root1, NOW - 1));
      expect(older.body).toContain('not newer');
      expect((await tb.stores.orgs.get(orgId))!.rootArchivePublicKey).toEqual(root1);
    });
  });
}
