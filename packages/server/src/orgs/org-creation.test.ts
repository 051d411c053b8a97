/**
 * POST /v1/orgs: one transaction (a failing bucket leaves no org and an unspent token), an
 * identical retry answered as the first call until the first admin enrols, a ceremony that
 * reached another origin refused before anything is stored, and operator tokens that create
 * further organisations and expire.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { sealKeyManagerDelegation } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketDocument, TEST_WINDOW } from '../archive/archive-test-support.js';
import { sha256 } from '../crypto/secrets.js';
import { newId, type OrgId } from '../ids.js';
import { issueBootstrapToken } from '../operator-bootstrap.js';
import {
  call,
  createTestApp,
  deviceKeys,
  orgCreateBody,
  TEST_ORIGIN,
  type TestApp,
} from '../testing/test-app.js';
import { openSnapshotter, openTestSqlite, type TestBackend } from '../testing/test-stores.js';

const raw = (k: KeyObject): string =>
  Buffer.from(k.export({ format: 'jwk' }).x ?? '', 'base64url').toString('base64url');

/** A body with a real delegation, so buckets can be registered with the org. */
function realBody(token: string): { body: Record<string, unknown>; km: KeyObject } {
  const orgKey = generateKeyPairSync('ed25519');
  const km = generateKeyPairSync('ed25519');
  const delegation = sealKeyManagerDelegation(
    { key: Buffer.from(raw(km.publicKey), 'base64url'), ...TEST_WINDOW },
    orgKey.privateKey,
  );
  return {
    body: {
      ...orgCreateBody(token),
      signingPublicKey: raw(orgKey.publicKey),
      keyManager: { delegation: Buffer.from(delegation).toString('base64url'), ...TEST_WINDOW },
    },
    km: km.privateKey,
  };
}

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64url');

describe('POST /v1/orgs: atomic and retry-safe', () => {
  let tb: TestBackend;
  let t: TestApp;
  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores);
  });
  afterAll(async () => {
    await t?.app.close();
    await tb?.dispose();
  });

  async function token(): Promise<string> {
    return (await issueBootstrapToken(t.stores, t.clock.now)).token;
  }

  it('answers an identical retry as the first call until the first admin enrols', async () => {
    const body = orgCreateBody(t.bootstrapToken);
    const first = await call(t.app, 'POST', '/v1/orgs', body);
    expect(first.statusCode, first.body).toBe(201);
    const orgs = await t.stores.orgs.count();
    // Same values in another key order: still the identical request.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await call(t.app, 'POST', '/v1/orgs', reordered);
    expect(again.statusCode, again.body).toBe(201);
    expect(again.json()).toEqual({ ...first.json(), replayed: true });
    expect(first.json<{ replayed: boolean }>().replayed).toBe(false);
    expect(await t.stores.orgs.count()).toBe(orgs);

    const other = await call(t.app, 'POST', '/v1/orgs', { ...body, name: 'Another Agency' });
    expect(other.statusCode).toBe(409);
    expect(other.json<{ error: { code: string } }>().error.code).toBe('BOOTSTRAP_USED');

    const { orgId, enrolmentCode } = first.json<{ orgId: OrgId; enrolmentCode: string }>();
    const enrol = await call(t.app, 'POST', `/v1/orgs/${orgId}/devices`, {
      ...deviceKeys(1, 1).body,
      enrolmentCode,
    });
    expect(enrol.statusCode, enrol.body).toBe(201);
    const late = await call(t.app, 'POST', '/v1/orgs', body);
    expect(late.statusCode).toBe(409);
    expect(late.json<{ error: { message: string } }>().error.message).toMatch(/first admin has enrolled/);
    expect(await t.stores.orgs.count()).toBe(orgs);
  });

  it("gives the first admin the ceremony's own retention class, else the admin role's", async () => {
    const admins = async (orgId: OrgId) => await t.stores.users.list(orgId, { after: null, limit: 10 });
    const own = await call(t.app, 'POST', '/v1/orgs', {
      ...orgCreateBody(await token()),
      adminRetentionClass: 'permanent',
    });
    expect(own.statusCode, own.body).toBe(201);
    expect(await admins(own.json<{ orgId: OrgId }>().orgId)).toMatchObject([
      { role: 'admin', retentionClass: 'permanent', retentionSource: 'user' },
    ]);
    const follows = await call(t.app, 'POST', '/v1/orgs', orgCreateBody(await token()));
    expect(follows.statusCode, follows.body).toBe(201);
    expect(await admins(follows.json<{ orgId: OrgId }>().orgId)).toMatchObject([
      { role: 'admin', retentionClass: 'standard', retentionSource: 'role' },
    ]);
  });

  it('refuses a ceremony that reached another origin before storing anything or spending the token', async () => {
    // Through a proxy or name other than --origin, the org's every profile and the ceremony's
    // own device would sign an origin this server refuses: no login could ever succeed.
    const tok = await token();
    const body = orgCreateBody(tok);
    const snap = openSnapshotter(tb.config);
    try {
      const before = await snap.snapshot();
      const r = await call(t.app, 'POST', '/v1/orgs', { ...body, origin: 'http://127.0.0.1:8443' });
      expect(r.statusCode, r.body).toBe(400);
      const { code, message } = r.json<{ error: { code: string; message: string } }>().error;
      expect(code).toBe('INVALID_REQUEST');
      expect(message).toContain(
        `body.origin: this server takes logins for ${TEST_ORIGIN}, not http://127.0.0.1:8443`,
      );
      expect(message).toContain('set --origin to http://127.0.0.1:8443');
      expect(message).toContain('the bootstrap token is still valid');
      expect(await snap.snapshot()).toBe(before);
    } finally {
      await snap.close();
    }
    const ok = await call(t.app, 'POST', '/v1/orgs', { ...body, origin: TEST_ORIGIN });
    expect(ok.statusCode, ok.body).toBe(201);
    // The origin is checked, not part of the request: without it (an older client) the same
    // request is the identical retry.
    const retry = await call(t.app, 'POST', '/v1/orgs', body);
    expect(retry.statusCode, retry.body).toBe(201);
    expect(retry.json()).toEqual({ ...ok.json(), replayed: true });
  });

  it('registers bucket documents and officer wraps with the org, in one transaction', async () => {
    const orgId = newId<OrgId>();
    const { body, km } = realBody(await token());
    const doc = await bucketDocument(orgId, km, 'standard-2026-01');
    const r = await call(t.app, 'POST', '/v1/orgs', {
      ...body,
      orgId,
      buckets: [
        { document: b64(doc.document), officerWraps: [{ officerIndex: 1, blob: b64(Buffer.alloc(80, 1)) }] },
      ],
    });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json<{ orgId: string }>().orgId).toBe(orgId);
    expect((await t.stores.buckets.get(orgId, 'standard-2026-01'))?.publicKey).toEqual(
      Buffer.from(doc.publicKey),
    );
    const wraps = await t.stores.buckets.blobsForBucket(orgId, 'officer-wrap', 'standard-2026-01');
    expect(wraps.map((w) => w.recipient)).toEqual(['1']);
  });

  it('leaves nothing and keeps the token when any part fails', async () => {
    const tok = await token();
    const orgId = newId<OrgId>();
    const { body, km } = realBody(tok);
    const good = await bucketDocument(orgId, km, 'standard-2026-01');
    const forged = await bucketDocument(orgId, generateKeyPairSync('ed25519').privateKey, 'standard-2026-02');
    const orgs = await t.stores.orgs.count();
    for (const bad of [
      { buckets: [{ document: b64(good.document) }, { document: b64(forged.document) }] },
      {
        buckets: [
          { document: b64(good.document), officerWraps: [{ officerIndex: 9, blob: b64(Buffer.alloc(8)) }] },
        ],
      },
    ]) {
      const r = await call(t.app, 'POST', '/v1/orgs', { ...body, orgId, ...bad });
      expect(r.statusCode).toBe(400);
      expect(r.json<{ error: { message: string } }>().error.message).toMatch(/^body\.buckets\.[01]/);
      expect(await t.stores.orgs.count()).toBe(orgs);
      expect(await t.stores.orgs.get(orgId)).toBeUndefined();
      expect(await t.stores.buckets.get(orgId, 'standard-2026-01')).toBeUndefined();
      expect(await t.stores.auditPending.list(orgId, 0, 10)).toEqual([]);
      expect((await t.stores.bootstrap.get(sha256(tok)))?.consumedAt).toBeNull();
    }
    const ok = await call(t.app, 'POST', '/v1/orgs', {
      ...body,
      orgId,
      buckets: [{ document: b64(good.document) }],
    });
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it('refuses an existing org id and an expired token without spending anything', async () => {
    const tok = await token();
    const existing = await call(t.app, 'POST', '/v1/orgs', orgCreateBody(await token()));
    const { orgId } = existing.json<{ orgId: OrgId }>();
    const taken = await call(t.app, 'POST', '/v1/orgs', { ...orgCreateBody(tok), orgId });
    expect(taken.statusCode).toBe(409);
    expect(taken.json<{ error: { code: string } }>().error.code).toBe('ORG_EXISTS');
    expect((await t.stores.bootstrap.get(sha256(tok)))?.consumedAt).toBeNull();

    const old = await issueBootstrapToken(t.stores, t.clock.now, 1000);
    t.clock.now += 1000;
    const expired = await call(t.app, 'POST', '/v1/orgs', orgCreateBody(old.token));
    expect(expired.statusCode).toBe(401);
    expect(expired.json<{ error: { code: string } }>().error.code).toBe('BOOTSTRAP_EXPIRED');
  });
});
