/**
 * Re-issuing the key-manager delegation (PUT /v1/orgs/:orgId/key-manager) and listing index
 * key recipients (GET …/buckets/:bucketId/index-keys), through the app over SQLite.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { decodeLogEntry, sealKeyManagerDelegation } from '@custos/core';
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
import { openTestSqlite, type TestBackend } from '../testing/test-stores.js';
import { KEY_MANAGER_EVENT_KIND } from './key-manager-renewal.js';

const raw = (k: KeyObject): Buffer => Buffer.from(k.export({ format: 'jwk' }).x ?? '', 'base64url');
const b64u = (u: Uint8Array): string => Buffer.from(u).toString('base64url');

describe('key-manager renewal and index-key recipients', () => {
  let tb: TestBackend;
  let t: TestApp;
  let orgId: OrgId;
  let officer: TestDevice;
  let member: TestDevice;
  let admin: TestDevice;
  const orgKey = generateKeyPairSync('ed25519');
  const km = generateKeyPairSync('ed25519');
  const put = (delegation: Uint8Array, who: TestDevice = officer) =>
    call(t.app, 'PUT', `/v1/orgs/${orgId}/key-manager`, { delegation: b64u(delegation) }, who.headers());
  const delegation = (
    window: { notBefore: number; notAfter: number },
    signer = orgKey.privateKey,
    key = km,
  ) => sealKeyManagerDelegation({ key: raw(key.publicKey), ...window }, signer);

  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores);
    t.clock.now = 1_700_000_000_000;
    const officers = testOfficers();
    const body = {
      ...orgCreateBody(t.bootstrapToken, officers),
      signingPublicKey: b64u(raw(orgKey.publicKey)),
      keyManager: { delegation: b64u(delegation(TEST_WINDOW)), ...TEST_WINDOW },
    };
    const r = await call(t.app, 'POST', '/v1/orgs', body);
    ({ orgId } = r.json<{ orgId: OrgId }>());
    admin = await enrolAndLogin(t.app, orgId, r.json<{ enrolmentCode: string }>().enrolmentCode);
    const enrol = (role: Role) => enrolNewUser(t.app, admin, role);
    officer = await enrol('officer');
    await bindOfficer(t.app, officer, officers[0]!, 0, t.clock.now);
    member = await enrol('member');
  });
  afterAll(async () => {
    await t?.app.close();
    await tb?.dispose();
  });

  it('accepts a later delegation for the same key, logs it, and serves it', async () => {
    const next = delegation({ notBefore: TEST_WINDOW.notBefore, notAfter: TEST_WINDOW.notAfter + 1000 });
    const r = await put(next);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ changed: true, notAfter: TEST_WINDOW.notAfter + 1000 });
    const org = await call(t.app, 'GET', `/v1/orgs/${orgId}`, undefined, member.headers());
    expect(org.json<{ keyManager: { delegation: string } }>().keyManager.delegation).toBe(b64u(next));
    const again = await put(next);
    expect(again.json()).toMatchObject({ changed: false });
    const { nextIndex } = await tb.stores.log.backlog(orgId);
    const last = decodeLogEntry((await tb.stores.log.entries(orgId, nextIndex - 1, nextIndex))[0]!);
    expect(last).toMatchObject({ type: 'key-event', kind: KEY_MANAGER_EVENT_KIND, subject: 'key-manager' });
  });

  it('refuses a replayed shorter delegation, another key, another signer and a late start', async () => {
    const before = (await tb.stores.orgs.get(orgId))!.keyManager;
    const other = generateKeyPairSync('ed25519');
    const cases = [
      delegation(TEST_WINDOW),
      delegation({ ...TEST_WINDOW, notAfter: TEST_WINDOW.notAfter + 5000 }, orgKey.privateKey, other),
      delegation({ ...TEST_WINDOW, notAfter: TEST_WINDOW.notAfter + 5000 }, other.privateKey),
      delegation({ notBefore: TEST_WINDOW.notBefore + 1, notAfter: TEST_WINDOW.notAfter + 5000 }),
    ];
    for (const d of cases) {
      const r = await put(d);
      expect(r.statusCode, r.body).toBe(409);
      expect(r.json<{ error: { code: string } }>().error.code).toBe('KEY_MANAGER_INVALID');
    }
    expect((await tb.stores.orgs.get(orgId))!.keyManager).toEqual(before);
    expect(
      (await put(delegation({ ...TEST_WINDOW, notAfter: TEST_WINDOW.notAfter + 9000 }), member)).statusCode,
    ).toBe(403);
  });

  it('lists active devices with their retention class and whether the index key is sealed', async () => {
    const { document } = await bucketDocument(orgId, km.privateKey, 'standard-x');
    await call(t.app, 'POST', `/v1/orgs/${orgId}/buckets`, { document: b64u(document) }, officer.headers());
    await call(
      t.app,
      'PUT',
      `/v1/orgs/${orgId}/buckets/standard-x/index-keys/${member.deviceId}`,
      { blob: b64u(new Uint8Array(80)) },
      officer.headers(),
    );
    const r = await call(
      t.app,
      'GET',
      `/v1/orgs/${orgId}/buckets/standard-x/index-keys`,
      undefined,
      officer.headers(),
    );
    expect(r.statusCode, r.body).toBe(200);
    const list = r.json<{ recipients: { deviceId: string; sealed: boolean; retentionClass: string }[] }>()
      .recipients;
    expect(list.map((d) => d.deviceId).sort()).toEqual(
      [admin.deviceId, officer.deviceId, member.deviceId].sort(),
    );
    expect(list.find((d) => d.deviceId === member.deviceId)).toMatchObject({
      sealed: true,
      retentionClass: 'standard',
    });
    expect(list.find((d) => d.deviceId === officer.deviceId)?.sealed).toBe(false);
    const missing = await call(
      t.app,
      'GET',
      `/v1/orgs/${orgId}/buckets/nope/index-keys`,
      undefined,
      officer.headers(),
    );
    expect(missing.json<{ error: { code: string } }>().error.code).toBe('BUCKET_NOT_FOUND');
  });

  it('pages recipients by device id and leaves revoked devices out', async () => {
    const { document } = await bucketDocument(orgId, km.privateKey, 'standard-paged');
    const reg = await call(
      t.app,
      'POST',
      `/v1/orgs/${orgId}/buckets`,
      { document: b64u(document) },
      officer.headers(),
    );
    expect(reg.statusCode, reg.body).toBe(201);
    // The member links a second device (an admin's code cannot add one: the member has a device).
    const code = await call(t.app, 'POST', '/v1/devices/link-codes', {}, member.headers());
    const lost = await enrolAndLogin(t.app, orgId, code.json<{ code: string }>().code);
    const rev = await call(
      t.app,
      'POST',
      `/v1/orgs/${orgId}/devices/${lost.deviceId}/revoke`,
      undefined,
      admin.headers(),
    );
    expect(rev.statusCode, rev.body).toBe(200);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (; pages < 10; pages++) {
      const r = await call(
        t.app,
        'GET',
        `/v1/orgs/${orgId}/buckets/standard-paged/index-keys?limit=1${after === null ? '' : `&after=${after}`}`,
        undefined,
        officer.headers(),
      );
      expect(r.statusCode, r.body).toBe(200);
      const page = r.json<{ recipients: { deviceId: string; sealed: boolean }[]; next: string | null }>();
      expect(page.recipients.length).toBeLessThanOrEqual(1);
      seen.push(...page.recipients.map((d) => d.deviceId));
      if (page.next === null) break;
      after = page.next;
    }
    // Four devices (one revoked, its page empty) in pages of one, then the empty last page.
    expect(pages).toBe(4);
    expect(seen.sort()).toEqual([admin.deviceId, officer.deviceId, member.deviceId].sort());
  });

  it('accepts a root wrap under officer-wraps/root', async () => {
    const r = await call(
      t.app,
      'PUT',
      `/v1/orgs/${orgId}/buckets/standard-x/officer-wraps/root`,
      { blob: b64u(new Uint8Array(90)) },
      officer.headers(),
    );
    expect(r.statusCode, r.body).toBe(200);
    const l = await call(
      t.app,
      'GET',
      `/v1/orgs/${orgId}/buckets/standard-x/officer-wraps`,
      undefined,
      officer.headers(),
    );
    expect(l.json<{ items: { recipient: string }[] }>().items.map((i) => i.recipient)).toContain('root');
  });
});
