/**
 * Finding acknowledgements over HTTP (SQLite): an officer's signed statement is stored and
 * audited with the detail the console rebuilds; a retry of the identical statement changes
 * nothing; a second statement for the same finding, a forged or misattributed signature,
 * another org's finding, an empty reason and a member's request are refused, nothing stored. A
 * revoked device's finding is acknowledged again at another accepted state (version 2), once per
 * state, and the listing pages through the states of one finding; a state on any other finding,
 * or none on a revoked device's, is refused.
 * The officer list is read in the transaction that stores the act: a removal committing just
 * before it refuses the removed officer's acknowledgement.
 */
import { sign } from 'node:crypto';
import {
  encodeDeterministicCbor,
  encodeFindingAcknowledgement,
  findingAcknowledgementActDetail,
  findingAcknowledgementMessage,
  type FindingAcknowledgement,
} from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingTableAuditSink } from '../audit/audit-sink.js';
import { newId, type DeviceId, type OrgId } from '../ids.js';
import type { Stores } from '../store/stores.js';
import {
  call,
  createOrgWithRoles,
  createTestApp,
  type TestApp,
  type TestDevice,
  type TestOfficer,
} from '../testing/test-app.js';
import { boundOfficerDevice } from '../testing/route-fixtures.js';
import { openTestSqlite, type TestBackend } from '../testing/test-stores.js';
import { acknowledgeFinding } from './acknowledgement-routes.js';

/** Signs acknowledgement statements as officer `o` (base64url signatures). */
const signer = (o: TestOfficer) => ({
  sign: (statement: Uint8Array) =>
    sign(null, findingAcknowledgementMessage(statement), o.signingKey).toString('base64url'),
});

interface Listed {
  findingId: string;
  statement: string;
  signature: string;
  deviceId: string;
  acknowledgedAt: number;
}

describe('finding acknowledgement routes (SQLite)', () => {
  let tb: TestBackend;
  let t: TestApp;
  let orgId: OrgId;
  let dev: { officer: TestDevice; member: TestDevice };
  let otherOfficer: TestDevice;
  let officers: { sign(statement: Uint8Array): string }[];
  /** A device bound to officer 1 (dev.officer is officer 0's). */
  let officer1: TestDevice;
  const url = () => `/v1/orgs/${orgId}/archive/completeness/acknowledgements`;

  const statement = (over: Partial<FindingAcknowledgement> = {}): Uint8Array =>
    encodeFindingAcknowledgement({
      orgId,
      findingId: `gap/${orgId}/dev-1/5-7`,
      reason: 'Phone wiped before upload (incident 114).',
      officerIndex: 0,
      at: 1000,
      ...over,
    });
  const post = (d: TestDevice, st: Uint8Array, signature: string) =>
    call(t.app, 'POST', url(), { statement: Buffer.from(st).toString('base64url'), signature }, d.headers());
  const code = (r: { statusCode: number; json: <T>() => T }) => [
    r.statusCode,
    r.json<{ error: { code: string } }>().error.code,
  ];
  const list = async (query = '') =>
    (await call(t.app, 'GET', `${url()}${query}`, undefined, dev.officer.headers())).json<{
      acknowledgements: Listed[];
      next: string | null;
    }>();
  const acts = async () =>
    (await t.stores.auditPending.list(orgId, 0, 1000))
      .filter((e) => e.kind === 'completeness.acknowledge')
      .map((e) => [e.subject, e.detail]);

  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores);
    const org = await createOrgWithRoles(t);
    ({ orgId, devices: dev } = org);
    officers = org.officers!.map(signer);
    officer1 = await boundOfficerDevice(t, org, 1);
    otherOfficer = (await createOrgWithRoles(t, false)).devices.officer;
  });
  afterAll(async () => {
    await t?.app.close();
    await tb?.dispose();
  });

  it('stores and audits a signed acknowledgement; the identical retry changes nothing', async () => {
    const st = statement();
    const sig = officers[0]!.sign(st);
    const r = await post(dev.officer, st, sig);
    expect(r.statusCode, r.body).toBe(200);
    const row = r.json<Listed>();
    expect(row).toMatchObject({
      findingId: `gap/${orgId}/dev-1/5-7`,
      deviceId: dev.officer.deviceId,
      signature: sig,
    });
    expect(await acts()).toEqual([[`gap/${orgId}/dev-1/5-7`, findingAcknowledgementActDetail(st)]]);
    const again = await post(dev.officer, st, sig);
    expect(again.statusCode).toBe(200);
    expect(again.json<Listed>()).toEqual(row);
    expect(await acts()).toHaveLength(1);
    expect((await list()).acknowledgements).toEqual([row]);
  });

  it('refuses a second acknowledgement of the same finding, even by another officer', async () => {
    const st = statement({ officerIndex: 1, reason: 'Another reason.', at: 2000 });
    expect(code(await post(officer1, st, officers[1]!.sign(st)))).toEqual([409, 'FINDING_ACKNOWLEDGED']);
    expect(await acts()).toHaveLength(1);
  });

  it('refuses forged signatures, another org, bad statements and non-officers, storing nothing', async () => {
    const st = statement({ findingId: `gap/${orgId}/dev-1/8-8` });
    // Signed by officer 1 but claiming officer 0; officer 5 is not registered.
    expect(code(await post(dev.officer, st, officers[1]!.sign(st)))).toEqual([400, 'INVALID_KEY']);
    const five = statement({ findingId: `gap/${orgId}/dev-1/8-8`, officerIndex: 5 });
    expect(code(await post(officer1, five, officers[0]!.sign(five)))).toEqual([403, 'OFFICER_NOT_SIGNER']);
    // Officer 1's valid statement, submitted by officer 0's device: the act names the device, so
    // it must be the signing officer's own.
    const byOne = statement({ findingId: `gap/${orgId}/dev-1/8-8`, officerIndex: 1 });
    const notSigner = await post(dev.officer, byOne, officers[1]!.sign(byOne));
    expect(code(notSigner)).toEqual([403, 'OFFICER_NOT_SIGNER']);
    expect(notSigner.body).toContain('signed as officer 1, but this device is bound to officer 0');
    // A statement of another org, sent to this org or by that org's officer to this path.
    const foreign = encodeFindingAcknowledgement({
      orgId: 'other-org',
      findingId: 'gap/other-org/dev-1/1-1',
      reason: 'x',
      officerIndex: 0,
      at: 1,
    });
    const r = await post(dev.officer, foreign, officers[0]!.sign(foreign));
    expect(code(r)).toEqual([400, 'INVALID_REQUEST']);
    expect(r.body).toContain('another organisation');
    expect(code(await post(otherOfficer, st, officers[0]!.sign(st)))).toEqual([403, 'WRONG_ORG']);
    // An empty reason no encoder writes, built by hand.
    const empty = encodeDeterministicCbor({
      v: 1,
      typ: 'finding-acknowledgement',
      org: orgId,
      fnd: `gap/${orgId}/dev-1/8-8`,
      why: '',
      off: 0,
      at: 1,
    });
    const e = await post(dev.officer, empty, officers[0]!.sign(empty));
    expect(code(e)).toEqual([400, 'INVALID_REQUEST']);
    expect(e.body).toContain('reason');
    expect(code(await post(dev.member, st, officers[0]!.sign(st)))).toEqual([403, 'ROLE_FORBIDDEN']);
    expect((await list()).acknowledgements.map((a) => a.findingId)).toEqual([`gap/${orgId}/dev-1/5-7`]);
    expect(await acts()).toHaveLength(1);
  });

  it('lists acknowledgements in pages by finding id', async () => {
    for (const f of ['unarchived/ORG/dev-2/40', 'silent/ORG/dev-3/none']) {
      const st = statement({ findingId: f.replace('ORG', orgId) });
      expect((await post(dev.officer, st, officers[0]!.sign(st))).statusCode).toBe(200);
    }
    const all = (await list()).acknowledgements.map((a) => a.findingId);
    expect(all).toHaveLength(3);
    const first = await list('?limit=2');
    expect(first.acknowledgements.map((a) => a.findingId)).toEqual(all.slice(0, 2));
    expect(first.next).toBe(all[1]);
    const rest = await list(`?limit=2&after=${encodeURIComponent(first.next!)}`);
    expect(rest.acknowledgements.map((a) => a.findingId)).toEqual(all.slice(2));
    expect(rest.next).toBeNull();
  });

  it("acknowledges a revoked device's finding again at a new state, once per state, each its own act", async () => {
    const findingId = `revoked/${orgId}/dev-4/17`;
    const at = (state: string, over: Partial<FindingAcknowledgement> = {}) =>
      statement({ findingId, state, ...over });
    const two = at('unarchived=2,handed-in=none,gaps=none');
    const five = at('unarchived=5,handed-in=none,gaps=none', { officerIndex: 1, at: 3000 });
    const before = (await acts()).length;
    expect((await post(dev.officer, two, officers[0]!.sign(two))).statusCode).toBe(200);
    expect((await post(officer1, five, officers[1]!.sign(five))).statusCode).toBe(200);
    // The same state again, by another officer or with another reason: refused, nothing logged.
    const twoAgain = at('unarchived=2,handed-in=none,gaps=none', { officerIndex: 1, reason: 'Again.' });
    const refused = await post(officer1, twoAgain, officers[1]!.sign(twoAgain));
    expect(code(refused)).toEqual([409, 'FINDING_ACKNOWLEDGED']);
    expect(refused.body).toContain('already acknowledged at unarchived=2,handed-in=none,gaps=none');
    expect((await acts()).slice(before)).toEqual([
      [findingId, findingAcknowledgementActDetail(two)],
      [findingId, findingAcknowledgementActDetail(five)],
    ]);
    // Paged one at a time, the cursor carries the state: both are listed, in state order.
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const page: { acknowledgements: Listed[]; next: string | null } = await list(
        `?limit=1${next === null ? '' : `&after=${encodeURIComponent(next)}`}`,
      );
      seen.push(...page.acknowledgements.map((a) => a.statement));
      next = page.next;
    } while (next !== null);
    const mine = seen.filter((s) => [two, five].some((x) => Buffer.from(x).toString('base64url') === s));
    expect(mine).toEqual([two, five].map((x) => Buffer.from(x).toString('base64url')));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("refuses a state on any finding but a revoked device's, and none on a revoked device's, storing nothing", async () => {
    const raw = (fnd: string, saw?: string) =>
      encodeDeterministicCbor({
        v: saw === undefined ? 1 : 2,
        typ: 'finding-acknowledgement',
        org: orgId,
        fnd,
        why: 'Explained.',
        off: 0,
        at: 4000,
        ...(saw === undefined ? {} : { saw }),
      });
    // A gap finding already acknowledged above, now with a state: it would be a second row and act.
    const onGap = raw(`gap/${orgId}/dev-1/5-7`, 'saw');
    const noState = raw(`revoked/${orgId}/dev-9/30`);
    const before = { listed: (await list()).acknowledgements, acts: await acts() };
    for (const [st, field] of [
      [onGap, "the state is only for a revoked device's finding"],
      [noState, "the state is required for a revoked device's finding"],
    ] as const) {
      const r = await post(dev.officer, st, officers[0]!.sign(st));
      expect(code(r)).toEqual([400, 'INVALID_REQUEST']);
      expect(r.body).toContain(`body.statement: finding acknowledgement: ${field}`);
    }
    expect({ listed: (await list()).acknowledgements, acts: await acts() }).toEqual(before);
  });

  it("refuses a removed officer's acknowledgement when the removal commits just before it is stored", async () => {
    const listed = (await t.stores.orgs.get(orgId))!.officers;
    const change = (seq: number, officers: typeof listed) =>
      t.stores.withTransaction((tx) =>
        tx.orgs.replaceOfficers(orgId, officers, 1, {
          seq,
          document: Buffer.from([seq]),
          issuedAt: seq,
          changedBy: dev.officer.deviceId,
          changedAt: seq,
        }),
      );
    // The same stores, but officer 1's removal commits as the acknowledgement's transaction begins.
    let removed = false;
    const racing = new Proxy(t.stores, {
      get: (target, k) =>
        k === 'withTransaction'
          ? async <T>(fn: (tx: Stores) => Promise<T>): Promise<T> => {
              if (!removed)
                await change(
                  1,
                  listed.filter((o) => o.index !== 1),
                );
              removed = true;
              return target.withTransaction(fn);
            }
          : (Reflect.get(target, k, target) as unknown),
    });
    const findingId = `gap/${orgId}/dev-9/1-1`;
    const st = Buffer.from(statement({ findingId, officerIndex: 1 }));
    const sig = Buffer.from(officers[1]!.sign(st), 'base64url');
    const ack = (stores: Stores) =>
      acknowledgeFinding(stores, pendingTableAuditSink, orgId, newId<DeviceId>(), 5000, st, sig);
    const before = await acts();
    await expect(ack(racing)).rejects.toMatchObject({ code: 'INVALID_KEY' });
    expect(await t.stores.completeness.acknowledgement(orgId, findingId, '')).toBeUndefined();
    expect(await acts()).toEqual(before);
    // Nothing was burnt: once officer 1 is listed again, the same acknowledgement is stored.
    await change(2, listed);
    expect((await ack(t.stores)).findingId).toBe(findingId);
  });
});
