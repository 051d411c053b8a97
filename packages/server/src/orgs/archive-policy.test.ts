/**
 * The archive policy on the server: POST /v1/orgs takes an org-signed statement and refuses
 * one that does not verify or names another org (registering nothing); the org's public
 * material serves it; an org whose policy is `none` gets no archive records (403, nothing
 * stored) and no relay receipts in its log, while an archiving org's receipts go on.
 */
import { generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import {
  generateBucketKeyPair,
  sealArchivePolicy,
  type ArchivePolicyName,
  sealKeyManagerDelegation,
} from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveWriter, TEST_WINDOW, uploadBody } from '../archive/archive-test-support.js';
import { newId, type OrgId } from '../ids.js';
import { issueBootstrapToken } from '../operator-bootstrap.js';
import {
  call,
  createOrgWithRoles,
  createTestApp,
  enrolAndLogin,
  orgCreateBody,
  type TestApp,
  type TestDevice,
  type TestOrg,
} from '../testing/test-app.js';
import { openTestSqlite, type TestBackend } from '../testing/test-stores.js';

const raw = (k: KeyObject): Buffer => Buffer.from(k.export({ format: 'jwk' }).x ?? '', 'base64url');
const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64url');
const NAME = 'Open Society';

/** A create body for a fresh org id with a real signing key and delegation, and the key. */
function body(token: string): { body: Record<string, unknown>; orgId: OrgId; key: KeyObject } {
  const org = generateKeyPairSync('ed25519');
  const km = generateKeyPairSync('ed25519');
  const delegation = sealKeyManagerDelegation({ key: raw(km.publicKey), ...TEST_WINDOW }, org.privateKey);
  const orgId = newId<OrgId>();
  return {
    orgId,
    key: org.privateKey,
    body: {
      ...orgCreateBody(token),
      orgId,
      name: NAME,
      signingPublicKey: b64(raw(org.publicKey)),
      keyManager: { delegation: b64(delegation), ...TEST_WINDOW },
    },
  };
}

const statement = (orgId: string, policy: ArchivePolicyName, key: KeyObject, name = NAME): string =>
  b64(sealArchivePolicy({ org: orgId, name, policy }, { sign: (m) => edSign(null, m, key) }));

describe('archive policy on the server', () => {
  let tb: TestBackend;
  let t: TestApp;
  let none: { orgId: OrgId; admin: TestDevice };
  let archiving: TestOrg;
  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores);
    archiving = await createOrgWithRoles(t);
  });
  afterAll(async () => {
    await t?.app.close();
    await tb?.dispose();
  });

  const token = async (): Promise<string> => (await issueBootstrapToken(t.stores, t.clock.now)).token;
  const code = (r: { json<T>(): T }): string => r.json<{ error: { code: string } }>().error.code;
  const message = (r: { json<T>(): T }): string => r.json<{ error: { message: string } }>().error.message;

  it('refuses a statement that does not verify, names another org or name, or comes without an org id', async () => {
    const tok = await token();
    const b = body(tok);
    const stranger = generateKeyPairSync('ed25519').privateKey;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...b.body, archivePolicyStatement: statement(b.orgId, 'none', stranger) }, /does not verify/],
      [{ ...b.body, archivePolicyStatement: statement(newId(), 'none', b.key) }, /another organisation/],
      [{ ...b.body, archivePolicyStatement: statement(b.orgId, 'none', b.key, 'Else') }, /differently/],
      [{ ...b.body, archivePolicyStatement: b64(Buffer.from('junk')) }, /archivePolicyStatement/],
    ];
    for (const [req, why] of cases) {
      const r = await call(t.app, 'POST', '/v1/orgs', req);
      expect(r.statusCode, r.body).toBe(400);
      expect(code(r)).toBe('ARCHIVE_POLICY_INVALID');
      expect(message(r)).toMatch(why);
    }
    const { orgId: _omit, ...noId } = b.body;
    const r = await call(t.app, 'POST', '/v1/orgs', {
      ...noId,
      archivePolicyStatement: statement(b.orgId, 'none', b.key),
    });
    expect(code(r)).toBe('ARCHIVE_POLICY_INVALID');
    expect(message(r)).toMatch(/body.orgId is required/);
    const withBuckets = await call(t.app, 'POST', '/v1/orgs', {
      ...b.body,
      archivePolicyStatement: statement(b.orgId, 'none', b.key),
      buckets: [{ document: b64(Buffer.from('x')) }],
    });
    expect(code(withBuckets)).toBe('INVALID_REQUEST');
    expect(message(withBuckets)).toMatch(/registers no buckets/);
    // Nothing was registered and the token is unspent: the good request still works.
    expect(await t.stores.orgs.get(b.orgId)).toBeUndefined();
    const ok = await call(t.app, 'POST', '/v1/orgs', {
      ...b.body,
      archivePolicyStatement: statement(b.orgId, 'none', b.key),
    });
    expect(ok.statusCode, ok.body).toBe(201);
    const admin = await enrolAndLogin(t.app, b.orgId, ok.json<{ enrolmentCode: string }>().enrolmentCode);
    none = { orgId: b.orgId, admin };
  });

  it('serves the policy and its statement with the org; an org created without one archives', async () => {
    const r = await call(t.app, 'GET', `/v1/orgs/${none.orgId}`, undefined, none.admin.headers());
    expect(r.statusCode, r.body).toBe(200);
    const org = r.json<{ archivePolicy: string; archivePolicyStatement: string }>();
    expect(org.archivePolicy).toBe('none');
    expect((await t.stores.orgs.get(none.orgId))?.archivePolicy?.statement.toString('base64url')).toBe(
      org.archivePolicyStatement,
    );
    const member = archiving.devices.member;
    const a = await call(t.app, 'GET', `/v1/orgs/${archiving.orgId}`, undefined, member.headers());
    expect(a.json<Record<string, unknown>>()).toMatchObject({ archivePolicy: 'required' });
    expect(a.json<Record<string, unknown>>().archivePolicyStatement).toBeUndefined();
  });

  it('refuses archive records from a device of a `none` org, storing nothing', async () => {
    const bucket = await generateBucketKeyPair();
    const writer = await ArchiveWriter.create(
      {
        orgId: none.orgId,
        admin: none.admin,
        officer: none.admin,
        officers: [],
        members: [],
        keyManager: generateKeyPairSync('ed25519').privateKey,
        orgSigningKey: generateKeyPairSync('ed25519').privateKey,
        bucketId: 'standard-2026-11',
        bucketKey: bucket.publicKey.toBytes(),
      },
      none.admin,
    );
    const before = await t.stores.log.backlog(none.orgId);
    const r = await call(
      t.app,
      'POST',
      '/v1/archive/batches',
      uploadBody(writer.batch(2)),
      none.admin.headers(),
    );
    expect(r.statusCode, r.body).toBe(403);
    expect(code(r)).toBe('ORG_DOES_NOT_ARCHIVE');
    expect(message(r)).toMatch(/archive policy none/);
    const head = await call(t.app, 'GET', '/v1/archive/head', undefined, none.admin.headers());
    expect(head.json()).toEqual({ nextSeq: 0, head: null });
    expect(await t.stores.log.backlog(none.orgId)).toEqual(before);
  });

  it('logs relay receipts for the archiving org only, both ways', async () => {
    const member = archiving.devices.member;
    const send = (from: TestDevice, to: TestDevice) =>
      call(
        t.app,
        'PUT',
        '/v1/messages',
        {
          recipient: { orgId: to.orgId, userId: to.userId },
          envelopes: [{ deviceId: to.deviceId, type: 1, content: b64(Buffer.from('ciphertext')) }],
        },
        from.headers(),
      );
    for (const [from, to] of [
      [none.admin, member],
      [member, none.admin],
    ] as const) {
      const a = (await t.stores.log.backlog(archiving.orgId)).nextIndex;
      const n = (await t.stores.log.backlog(none.orgId)).nextIndex;
      const r = await send(from, to);
      expect(r.statusCode, r.body).toBe(200);
      expect((await t.stores.log.backlog(archiving.orgId)).nextIndex).toBe(a + 1);
      expect((await t.stores.log.backlog(none.orgId)).nextIndex).toBe(n);
    }
  });
});
