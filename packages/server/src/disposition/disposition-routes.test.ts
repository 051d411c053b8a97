/**
 * The disposition routes with bad input, over HTTP (SQLite): too few approvals, a forged
 * approval, an approval by a non-officer device, another org's plan, an approval of one plan
 * replayed onto another, a malformed plan id; then the quorum executes and the certificate
 * names both approvals. A bucket that still takes records is refused with its dates, also for
 * a far as-of date, and listed apart beside a plan of the others.
 */
import { sign } from 'node:crypto';
import { decodeDispositionCertificate, dispositionApprovalMessage } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrgId } from '../ids.js';
import {
  call,
  createOrgWithRoles,
  createTestApp,
  registerExpiredBucket,
  type TestApp,
  type TestDevice,
  type TestOfficer,
} from '../testing/test-app.js';
import { boundOfficerDevice } from '../testing/route-fixtures.js';
import { openTestSqlite, type TestBackend } from '../testing/test-stores.js';

interface View {
  planId: string;
  plan: string;
  state: string;
  approvals: { officerIndex: number }[];
  certificate: string | null;
}

/** Approves disposition plans (base64url) as officer `o`: base64url signatures. */
const approver = (o: TestOfficer) => ({
  approve: (plan: string) =>
    sign(null, dispositionApprovalMessage(Buffer.from(plan, 'base64url')), o.signingKey).toString(
      'base64url',
    ),
});

describe('disposition routes (SQLite)', () => {
  let tb: TestBackend;
  let t: TestApp;
  let orgId: OrgId;
  let dev: { officer: TestDevice; member: TestDevice; auditor: TestDevice };
  let otherOfficer: TestDevice;
  let officers: { approve(plan: string): string }[];
  /** A device bound to each officer, by index (officer 0's is dev.officer). */
  let officerDevs: TestDevice[];

  const post = (d: TestDevice, url: string, body: Record<string, unknown>) =>
    call(t.app, 'POST', url, body, d.headers());
  const plan = async (asOf: number): Promise<View> =>
    (await post(dev.officer, `/v1/orgs/${orgId}/dispositions`, { asOf })).json<View>();
  const approve = (d: TestDevice, planId: string, officerIndex: number, signature: string) =>
    post(d, `/v1/orgs/${orgId}/dispositions/${planId}/approvals`, { officerIndex, signature });
  const code = (r: { json: <T>() => T }) => r.json<{ error: { code: string } }>().error.code;

  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores);
    const org = await createOrgWithRoles(t);
    ({ orgId, devices: dev } = org);
    officers = org.officers!.map(approver);
    officerDevs = [dev.officer, await boundOfficerDevice(t, org, 1), await boundOfficerDevice(t, org, 2)];
    otherOfficer = (await createOrgWithRoles(t, false)).devices.officer;
    // One expired (empty) bucket: with none, there is nothing to plan.
    await registerExpiredBucket(tb.stores, orgId, dev.officer.deviceId);
  });
  afterAll(async () => {
    await t?.app.close();
    await tb?.dispose();
  });

  it('refuses every bad approval and executes only with the quorum', async () => {
    const p = await plan(t.clock.now);
    expect(p.state).toBe('proposed');
    const exec = () =>
      call(
        t.app,
        'POST',
        `/v1/orgs/${orgId}/dispositions/${p.planId}/execute`,
        undefined,
        dev.officer.headers(),
      );

    const tooFew = await exec();
    expect([tooFew.statusCode, code(tooFew)]).toEqual([409, 'QUORUM_NOT_MET']);
    expect((await approve(dev.officer, p.planId, 0, officers[0]!.approve(p.plan))).statusCode).toBe(200);
    const stillOne = await exec();
    expect([stillOne.statusCode, code(stillOne)]).toEqual([409, 'QUORUM_NOT_MET']);

    const forged = await approve(officerDevs[1]!, p.planId, 1, officers[2]!.approve(p.plan));
    expect([forged.statusCode, code(forged)]).toEqual([400, 'INVALID_KEY']);
    // Officer 1's own valid approval, but submitted by officer 0's device: the act would name the
    // wrong officer's device, so it is refused and nothing is recorded.
    const notSigner = await approve(dev.officer, p.planId, 1, officers[1]!.approve(p.plan));
    expect([notSigner.statusCode, code(notSigner)]).toEqual([403, 'OFFICER_NOT_SIGNER']);
    expect(notSigner.body).toContain('signed as officer 1, but this device is bound to officer 0');
    const byMember = await approve(dev.member, p.planId, 1, officers[1]!.approve(p.plan));
    expect([byMember.statusCode, code(byMember)]).toEqual([403, 'ROLE_FORBIDDEN']);
    const noOfficer = await approve(dev.officer, p.planId, 9, officers[1]!.approve(p.plan));
    expect([noOfficer.statusCode, code(noOfficer)]).toEqual([403, 'OFFICER_NOT_SIGNER']);
    const other = await plan(t.clock.now + 1);
    const replayed = await approve(dev.officer, other.planId, 0, officers[0]!.approve(p.plan));
    expect([replayed.statusCode, code(replayed)]).toEqual([400, 'INVALID_KEY']);
    const foreignPath = await post(otherOfficer, `/v1/orgs/${orgId}/dispositions/${p.planId}/approvals`, {
      officerIndex: 1,
      signature: officers[1]!.approve(p.plan),
    });
    expect([foreignPath.statusCode, code(foreignPath)]).toEqual([403, 'WRONG_ORG']);
    const foreignPlan = await call(
      t.app,
      'GET',
      `/v1/orgs/${otherOfficer.orgId}/dispositions/${p.planId}`,
      undefined,
      otherOfficer.headers(),
    );
    expect([foreignPlan.statusCode, code(foreignPlan)]).toEqual([404, 'DISPOSITION_NOT_FOUND']);
    const badId = await approve(dev.officer, 'XYZ', 1, officers[1]!.approve(p.plan));
    expect(badId.statusCode).toBe(400);
    const short = await approve(dev.officer, p.planId, 1, 'AAAA');
    expect([short.statusCode, code(short)]).toEqual([400, 'INVALID_REQUEST']);

    const stillOneApproval = await call(
      t.app,
      'GET',
      `/v1/orgs/${orgId}/dispositions/${p.planId}`,
      undefined,
      dev.officer.headers(),
    );
    expect(stillOneApproval.json<View>().approvals.map((a) => a.officerIndex)).toEqual([0]);
    const two = await approve(officerDevs[1]!, p.planId, 1, officers[1]!.approve(p.plan));
    expect(two.json<View>().approvals.map((a) => a.officerIndex)).toEqual([0, 1]);
    const done = await exec();
    expect(done.statusCode).toBe(200);
    const v = done.json<View>();
    expect(v.state).toBe('executed');
    const cert = decodeDispositionCertificate(Buffer.from(v.certificate!, 'base64url'));
    expect(cert.approvals.map((a) => a.officerIndex)).toEqual([0, 1]);
    const late = await approve(officerDevs[2]!, p.planId, 2, officers[2]!.approve(p.plan));
    expect([late.statusCode, code(late)]).toEqual([409, 'DISPOSITION_CLOSED']);
    const read = await call(
      t.app,
      'GET',
      `/v1/orgs/${orgId}/dispositions/${p.planId}`,
      undefined,
      dev.auditor.headers(),
    );
    expect(read.json<View>().state).toBe('executed');
    // Its bucket disposed, nothing is left: the server says so and makes no plan.
    const none = await post(dev.officer, `/v1/orgs/${orgId}/dispositions`, { asOf: t.clock.now });
    expect([none.statusCode, code(none)]).toEqual([409, 'NOTHING_TO_DISPOSE']);
  });

  it("never plans a bucket that still takes records at the server's time, whatever the as-of date", async () => {
    // This month's bucket at the app's clock (14 Nov 2023): it takes records until 7 Dec 2023.
    await tb.stores.buckets.create(orgId, {
      bucketId: 'standard-2023-11',
      retentionClass: 'standard',
      period: '2023-11',
      notBefore: Date.UTC(2023, 10, 1),
      notAfter: Date.UTC(2023, 11, 1) - 1,
      publicKey: Buffer.alloc(32, 4),
      document: Buffer.alloc(16, 5),
      registeredBy: dev.officer.deviceId,
      registeredAt: 0,
      logIndex: 0,
    });
    const waiting = {
      bucketId: 'standard-2023-11',
      retentionClass: 'standard',
      period: '2023-11',
      recordsAcceptedUntil: Date.UTC(2023, 11, 8) - 1,
      disposableFrom: Date.UTC(2023, 11, 8),
    };
    const far = Date.UTC(2100, 0, 1);
    const refused = await post(dev.officer, `/v1/orgs/${orgId}/dispositions`, { asOf: far });
    expect([refused.statusCode, code(refused)]).toEqual([409, 'BUCKET_STILL_ACCEPTING']);
    const error = refused.json<{ error: { message: string; details: unknown } }>().error;
    expect(error.details).toEqual({ buckets: [waiting] });
    expect(error.message).toContain('cannot be destroyed before 2023-12-08T00:00:00.000Z');
    // Beside a bucket that can go, it is listed apart and left out of the plan officers sign.
    await registerExpiredBucket(tb.stores, orgId, dev.officer.deviceId, 'transitory-2020-02');
    const made = await post(dev.officer, `/v1/orgs/${orgId}/dispositions`, { asOf: far });
    expect(made.statusCode).toBe(200);
    const v = made.json<View & { buckets: { bucketId: string }[]; notYetDisposable: unknown[] }>();
    expect(v.buckets.map((b) => b.bucketId)).toEqual(['transitory-2020-02']);
    expect(v.notYetDisposable).toEqual([waiting]);
  });
});
