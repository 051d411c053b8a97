/**
 * A revoked device's archive hand-in (auth/archive-hand-in.ts), on every backend: within the
 * window it logs in again and uploads what continues its chain — nothing else; after the
 * window, a bucket begun after the revocation, another org's records: refused, the store
 * compared before and after. Before it signs, nobody learns whether or when a device was
 * revoked: its challenge is any device's. And a device retiring itself, with the run it strands.
 */
import { decodeLogEntry } from '@custos/core';
import { PrivateKey } from '@signalapp/libsignal-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHALLENGE_TTL_MS } from '../config/defaults.js';
import { newId, type OrgId } from '../ids.js';
import { sequencingAuditSink } from '../log-service/audit-sequencing.js';
import {
  call,
  createTestApp,
  login,
  loginSteps as loginStepsOf,
  type TestApp,
  type TestDevice,
} from '../testing/test-app.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import {
  ArchiveWriter,
  createArchivingOrg,
  registerTestBucket,
  uploadBody,
  type ArchivingOrg,
} from './archive-test-support.js';

const DAY = 24 * 60 * 60 * 1000;
/** The window these tests configure (the default is 14 days). */
const WINDOW = 3 * DAY;

for (const backend of TEST_BACKENDS) {
  const title = `archive hand-in: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let t: TestApp;
    let org: ArchivingOrg;

    const upload = (b: ReturnType<ArchiveWriter['batch']>, by: TestDevice) =>
      call(t.app, 'POST', '/v1/archive/batches', uploadBody(b), by.headers());
    const snapshot = async () => ({
      records: await tb.stores.archive.count(org.orgId),
      log: await tb.stores.log.backlog(org.orgId),
      head: await tb.stores.archive.head(org.orgId, org.members[0]!.deviceId),
    });
    const errorOf = (r: { body: string }) =>
      (JSON.parse(r.body) as { error: { code: string; message: string; details?: unknown } }).error;
    /** `send` answers `status` with `code` and changes nothing in the store. */
    const refused = async (
      status: number,
      code: string,
      send: () => Promise<{ statusCode: number; body: string }>,
    ) => {
      const before = await snapshot();
      const r = await send();
      expect([r.statusCode, errorOf(r).code], r.body).toEqual([status, code]);
      expect(await snapshot()).toEqual(before);
      return errorOf(r);
    };

    /** The two login steps of `d`, signed by `signer` (`d`'s own key by default). */
    const loginSteps = (d: TestDevice, signer: PrivateKey = d.identity) =>
      loginStepsOf(t.app, org.orgId, d.deviceId, signer);
    /**
     * Before proving possession of its key, a caller naming `revoked` learns nothing of its
     * revocation (`times`, ms): its challenge answers exactly as a current device's does at the
     * same moment (status, headers, fields, expiry), and a signature by another key is the
     * same SIGNATURE_INVALID.
     */
    const expectNothingBeforeSigning = async (revoked: TestDevice, times: readonly number[]) => {
      const stranger = PrivateKey.generate();
      const current = await loginSteps(org.admin, stranger);
      const named = await loginSteps(revoked, stranger);
      const shape = (r: typeof current.challenge) => ({
        status: r.statusCode,
        headers: Object.keys(r.headers).sort(),
        length: r.headers['content-length'],
        fields: Object.keys(r.json<object>()).sort(),
        expiresAt: r.json<{ expiresAt: number }>().expiresAt,
        origin: r.json<{ origin: string }>().origin,
      });
      expect(shape(named.challenge)).toEqual(shape(current.challenge));
      expect(shape(named.challenge)).toMatchObject({
        status: 201,
        expiresAt: t.clock.now + CHALLENGE_TTL_MS,
      });
      expect([named.token.statusCode, errorOf(named.token)]).toEqual([
        current.token.statusCode,
        errorOf(current.token),
      ]);
      expect(errorOf(named.token).code).toBe('SIGNATURE_INVALID');
      for (const r of [named.challenge, named.token])
        for (const time of times)
          for (const form of [String(time), new Date(time).toISOString()]) expect(r.body).not.toContain(form);
    };

    beforeAll(async () => {
      tb = await backend.open();
      t = await createTestApp(tb.stores, { audit: sequencingAuditSink, archiveHandInMs: WINDOW });
      org = await createArchivingOrg(t, 3);
    });
    afterAll(async () => {
      await t?.app.close();
      await tb?.dispose();
    });

    it('a device revoked by an admin logs in again and hands in what continues its chain, and nothing else', async () => {
      const phone = org.members[0]!;
      const w = await ArchiveWriter.create(org, phone);
      expect((await upload(w.batch(2), phone)).statusCode).toBe(200);
      const queued = w.batch(3); // sealed before the revocation, not uploaded yet

      const revokedAt = t.clock.now;
      const rev = await call(
        t.app,
        'POST',
        `/v1/orgs/${org.orgId}/devices/${phone.deviceId}/revoke?allowHandIn=true`,
        undefined,
        org.admin.headers(),
      );
      expect(rev.statusCode, rev.body).toBe(200);
      // The deadline is the revocation's, not the setting's: it is stored with it.
      expect((await tb.stores.devices.get(org.orgId, phone.deviceId))?.handInUntil).toBe(revokedAt + WINDOW);
      t.clock.now += DAY;

      // Its old token has expired; a fresh login works inside the window, and only its key
      // holder learns that the window is open.
      await expectNothingBeforeSigning(phone, [revokedAt, revokedAt + WINDOW]);
      phone.token = await login(t.app, org.orgId, phone.deviceId, phone.identity);
      // Ingest only: relay, prekeys and its own device list stay refused, saying until when it may hand in.
      for (const [method, url] of [
        ['GET', '/v1/messages'],
        ['GET', '/v1/prekeys'],
        ['GET', '/v1/devices'],
      ] as const) {
        const r = await call(t.app, method, url, undefined, phone.headers());
        expect([r.statusCode, errorOf(r)], url).toEqual([
          401,
          {
            code: 'DEVICE_REVOKED',
            message: expect.stringContaining('it may still upload the archive records it sealed before then'),
            details: { revokedAt, handInUntil: revokedAt + WINDOW },
          },
        ]);
      }
      const head = await call(t.app, 'GET', '/v1/archive/head', undefined, phone.headers());
      expect(head.json()).toMatchObject({ nextSeq: 2 });

      const r = await upload(queued, phone);
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json<{ logIndexes: number[]; stored: number }>();
      expect(body.stored).toBe(3);
      // Logged when handed in, after the revocation: that is how officers see it (console completeness).
      const entries = await tb.stores.log.entries(org.orgId, body.logIndexes[0]!, body.logIndexes[2]! + 1);
      expect(
        entries.map((e) => decodeLogEntry(e)).map((e) => e.type === 'archive-record' && [e.seq, e.time]),
      ).toEqual([2, 3, 4].map((seq) => [seq, revokedAt + DAY]));

      // A replay stores nothing and answers the same indexes.
      const before = await snapshot();
      const again = await upload(queued, phone);
      expect(again.json()).toMatchObject({ logIndexes: body.logIndexes, stored: 0 });
      expect(await snapshot()).toEqual(before);

      // Records naming another organisation, signed by this device: refused.
      const foreign = await ArchiveWriter.create({ ...org, orgId: newId<OrgId>() }, phone);
      await refused(400, 'ARCHIVE_RECORD_INVALID', () => upload(foreign.batch(1), phone));

      // A bucket whose window began after the revocation cannot hold what it sealed before.
      const later = { notBefore: revokedAt + DAY / 2, notAfter: revokedAt + 30 * DAY };
      org.officer.token = await login(t.app, org.orgId, org.officer.deviceId, org.officer.identity);
      const laterKey = await registerTestBucket(t.app, org, 'std-later', later);
      const afterRevocation = await ArchiveWriter.create(
        { ...org, bucketId: 'std-later', bucketKey: laterKey },
        phone,
      );
      afterRevocation.seq = w.seq;
      afterRevocation.prev = w.prev;
      const e = await refused(409, 'BUCKET_NOT_VALID', () => upload(afterRevocation.batch(1), phone));
      expect(e.message).toMatch(
        /after this device was revoked at .*: a revoked device hands in only records sealed before/,
      );
      // Nor one registered after the revocation with a window backdated to before it.
      const backdated = { notBefore: revokedAt - DAY, notAfter: revokedAt + 30 * DAY };
      const backdatedKey = await registerTestBucket(t.app, org, 'std-backdated', backdated);
      const intoBackdated = await ArchiveWriter.create(
        { ...org, bucketId: 'std-backdated', bucketKey: backdatedKey },
        phone,
      );
      intoBackdated.seq = w.seq;
      intoBackdated.prev = w.prev;
      const e2 = await refused(409, 'BUCKET_NOT_VALID', () => upload(intoBackdated.batch(1), phone));
      expect(e2.message).toMatch(/std-backdated was registered at .*, after this device was revoked/);

      // After the window: its token (still unexpired) and a new login are refused; nothing is stored.
      t.clock.now = revokedAt + WINDOW - 60_000;
      phone.token = await login(t.app, org.orgId, phone.deviceId, phone.identity);
      t.clock.now = revokedAt + WINDOW + 1;
      const closed = await refused(401, 'DEVICE_REVOKED', () => upload(w.batch(1), phone));
      expect(closed.message).toMatch(/its archive hand-in window closed at /);
      // A new login: its challenge is any device's; only a signature by its key hears why not.
      await expectNothingBeforeSigning(phone, [revokedAt, revokedAt + WINDOW]);
      const { token } = await loginSteps(phone);
      expect([token.statusCode, errorOf(token)]).toEqual([
        401,
        {
          code: 'DEVICE_REVOKED',
          message: expect.stringContaining('its archive hand-in window closed at'),
          details: { revokedAt, handInUntil: revokedAt + WINDOW },
        },
      ]);
    });

    it('a device revoked by an admin without allowHandIn (the default), or revoked before deadlines were stored, is locked out at once', async () => {
      const stolen = org.members[2]!;
      stolen.token = await login(t.app, org.orgId, stolen.deviceId, stolen.identity);
      org.admin.token = await login(t.app, org.orgId, org.admin.deviceId, org.admin.identity);
      const w = await ArchiveWriter.create(org, stolen);
      const revokedAt = t.clock.now;
      const rev = await call(
        t.app,
        'POST',
        `/v1/orgs/${org.orgId}/devices/${stolen.deviceId}/revoke`,
        undefined,
        org.admin.headers(),
      );
      expect(rev.statusCode, rev.body).toBe(200);
      // Null, as for every device revoked before deadlines were stored (migration 32): the
      // server's setting (WINDOW here) opens no window for it.
      expect((await tb.stores.devices.get(org.orgId, stolen.deviceId))?.handInUntil).toBeNull();
      // Its unexpired token is refused on the hand-in routes too, saying why.
      const e = await refused(401, 'DEVICE_REVOKED', () => upload(w.batch(1), stolen));
      expect(e).toEqual({
        code: 'DEVICE_REVOKED',
        message: expect.stringContaining('it was revoked without an archive hand-in window'),
        details: { revokedAt, handInUntil: null },
      });
      // Whoever names it gets a challenge like any device's; its key holder, signing, is refused.
      await expectNothingBeforeSigning(stolen, [revokedAt]);
      const { token } = await loginSteps(stolen);
      expect([token.statusCode, errorOf(token)]).toEqual([
        401,
        {
          code: 'DEVICE_REVOKED',
          message: expect.stringContaining('it was revoked without an archive hand-in window'),
          details: { revokedAt, handInUntil: null },
        },
      ]);
    });

    it('a device retires itself, naming the run it strands, and has no hand-in window', async () => {
      const laptop = org.members[1]!;
      laptop.token = await login(t.app, org.orgId, laptop.deviceId, laptop.identity);
      const w = await ArchiveWriter.create(org, laptop);
      expect((await upload(w.batch(1), laptop)).statusCode).toBe(200);
      const stranded = w.batch(2);
      const bad = await call(
        t.app,
        'POST',
        '/v1/devices/retire',
        { stranded: { firstSeq: 2, lastSeq: 1 } },
        laptop.headers(),
      );
      expect([bad.statusCode, errorOf(bad).code]).toEqual([400, 'INVALID_REQUEST']);

      const r = await call(
        t.app,
        'POST',
        '/v1/devices/retire',
        { stranded: { firstSeq: 1, lastSeq: 2 } },
        laptop.headers(),
      );
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toEqual({ deviceId: laptop.deviceId, revokedAt: t.clock.now });
      const audit = await tb.stores.auditPending.list(org.orgId, 0, 10_000);
      expect(
        audit
          .filter((a) => a.kind === 'device.revoke' && a.subject === laptop.deviceId)
          .map((a) => [a.actorDeviceId, a.detail]),
      ).toEqual([[laptop.deviceId, 'retire stranded 1-2']]);
      const again = await call(t.app, 'POST', '/v1/devices/retire', {}, laptop.headers());
      expect([again.statusCode, errorOf(again).code]).toEqual([401, 'DEVICE_REVOKED']);
      // It uploaded its queue first; what it names as stranded its user gave up: no window.
      const e = await refused(401, 'DEVICE_REVOKED', () => upload(stranded, laptop));
      expect(e.message).toMatch(/revoked without an archive hand-in window/);
    });
  });
}
