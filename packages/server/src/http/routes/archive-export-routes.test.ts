/**
 * POST /v1/orgs/:orgId/archive/exports on SQLite and PostgreSQL: an officer's export is one
 * audit entry (format, count, manifest hash); other roles, another org's id and malformed
 * bodies are refused and record nothing.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArchivingOrg, type ArchivingOrg } from '../../archive/archive-test-support.js';
import { newBootstrapToken, sha256 } from '../../crypto/secrets.js';
import { call, createTestApp, type TestApp } from '../../testing/test-app.js';
import { TEST_BACKENDS, type TestBackend } from '../../testing/test-stores.js';

const HASH = randomBytes(32).toString('hex');

describe.each(TEST_BACKENDS)('export audit route ($name)', ({ open, skip }) => {
  let tb: TestBackend;
  let t: TestApp;
  let org: ArchivingOrg;
  let foreign: ArchivingOrg;

  beforeAll(async () => {
    if (skip !== null) return;
    tb = await open();
    t = await createTestApp(tb.stores);
    org = await createArchivingOrg(t, 1);
    const second = newBootstrapToken();
    await t.stores.bootstrap.issue(sha256(second), t.clock.now, t.clock.now + 3_600_000);
    foreign = await createArchivingOrg({ ...t, bootstrapToken: second }, 1);
  });
  afterAll(async () => {
    await tb?.dispose();
  });

  const post = (body: unknown, who = org.officer, orgId: string = org.orgId) =>
    call(t.app, 'POST', `/v1/orgs/${orgId}/archive/exports`, body, who.headers());
  const pending = () => t.stores.auditPending.list(org.orgId, 0, 100_000);

  it.skipIf(skip !== null)('records one audit entry: officer, format, count, manifest hash', async () => {
    const before = await pending();
    const r = await post({ format: 'rsmf', records: 12, manifestSha256: HASH });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json<{ recordedAt: number }>().recordedAt).toBe(t.clock.now);
    const added = (await pending()).slice(before.length);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      kind: 'archive.export',
      actorDeviceId: org.officer.deviceId,
      subject: org.orgId,
      detail: `format=rsmf records=12 manifest=${HASH}`,
    });
  });

  it.skipIf(skip !== null)('refuses other roles, another org and bad bodies; records nothing', async () => {
    const before = (await pending()).length;
    const good = { format: 'pdf', records: 1, manifestSha256: HASH };
    for (const who of [org.admin, org.members[0]!]) {
      const r = await post(good, who);
      expect(r.statusCode).toBe(403);
      expect(r.json<{ error: { code: string } }>().error.code).toBe('ROLE_FORBIDDEN');
    }
    const wrong = await post(good, org.officer, foreign.orgId);
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json<{ error: { code: string } }>().error.code).toBe('WRONG_ORG');
    for (const body of [
      { ...good, format: 'docx' },
      { ...good, records: -1 },
      { ...good, records: 1.5 },
      { ...good, manifestSha256: HASH.toUpperCase() },
      { ...good, manifestSha256: HASH.slice(2) },
      { ...good, query: 'budget' },
      { format: 'pdf', records: 1 },
    ]) {
      const r = await post(body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
    }
    expect(await pending()).toHaveLength(before);
  });
});
