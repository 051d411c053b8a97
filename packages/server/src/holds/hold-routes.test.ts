/**
 * The hold routes over an in-process app: placing custodian, query and date holds; listing
 * (never tokens); releasing once with a reason; the `hold` log entries and their audit
 * documents (hashes and counts, never the matter, the reason or a token); and bad input —
 * unknown or foreign custodians, buckets and holds, a missing reason, oversized queries.
 * Every refusal changes nothing.
 */
import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import {
  decodeLogEntry,
  encodeHoldRelease,
  holdReleaseActDetail,
  holdReleaseMessage,
  type HoldRelease,
} from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArchivingOrg, type ArchivingOrg } from '../archive/archive-test-support.js';
import { newBootstrapToken, sha256 } from '../crypto/secrets.js';
import { newId, type OrgId } from '../ids.js';
import type { HoldId } from '../store/hold-stores.js';
import { sequencingAuditSink } from '../log-service/audit-sequencing.js';
import { SearchIndexer } from '../search/search-indexer.js';
import {
  FIXTURE_LOG_KEY,
  storeRecords,
  SyntheticDevice,
  testIntegrator,
} from '../search/search-test-support.js';
import { silentLogger } from '../log/logger.js';
import { call, createTestApp, type TestApp, type TestOrg } from '../testing/test-app.js';
import { openTestSqlite, type TestBackend } from '../testing/test-stores.js';
import { heldRecordIds } from './held-records.js';
import { boundOfficerDevice, signedHoldRelease } from '../testing/route-fixtures.js';
import { MAX_HOLD_BUCKETS, MAX_HOLD_TOKENS, MAX_MATTER_CHARS } from './hold-acts.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const WORD = randomBytes(16);
const OTHER = randomBytes(16);
const MATTER = 'SEC v. Example (confidential)';
const REASON = 'Matter settled; counsel approved release';

interface HoldOut {
  holdId: string;
  kind: string;
  matter: string;
  custodian: string | null;
  buckets: string[];
  createdBy: string;
  releasedBy: string | null;
  releasedAt: number | null;
  releaseReason: string | null;
  releaseStatement: string | null;
  releaseSignature: string | null;
  sealed: string | null;
}

/** A hold as the listing answers it: also the users of its devices. */
interface ListedHold extends HoldOut {
  createdByUser: string | null;
  releasedByUser: string | null;
  placedDetail: string | null;
}

describe('hold routes', () => {
  let tb: TestBackend;
  let t: TestApp;
  let org: ArchivingOrg;
  let foreign: ArchivingOrg;
  let indexes: number[];

  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores, { audit: sequencingAuditSink });
    org = await createArchivingOrg(t, 2);
    const second = newBootstrapToken();
    await t.stores.bootstrap.issue(sha256(second), t.clock.now, t.clock.now + 3_600_000);
    foreign = await createArchivingOrg({ ...t, bootstrapToken: second }, 1);
    const a = new SyntheticDevice(org.orgId, org.bucketId, org.members[0]!.deviceId);
    const b = new SyntheticDevice(org.orgId, org.bucketId, org.members[1]!.deviceId);
    // Member 0: three records; member 1: WORD∧OTHER, WORD, WORD∧OTHER.
    indexes = await storeRecords(t.stores, org.orgId, [
      { device: a, ...a.next([WORD]) },
      { device: a, ...a.next([OTHER]) },
      { device: a, ...a.next([]) },
      { device: b, ...b.next([WORD, OTHER]) },
      { device: b, ...b.next([WORD]) },
      { device: b, ...b.next([OTHER, WORD]) },
    ]);
    await testIntegrator(t.stores, FIXTURE_LOG_KEY).integrateAll();
    await new SearchIndexer({ stores: t.stores, logger: silentLogger }).indexAll();
  });
  afterAll(async () => {
    await tb?.dispose();
  });

  const create = (body: Record<string, unknown>, who = org.officer, orgId: string = org.orgId) =>
    call(t.app, 'POST', `/v1/orgs/${orgId}/holds`, body, who.headers());
  const release = (holdId: string, body: Record<string, unknown> | undefined, who = org.officer) =>
    call(t.app, 'POST', `/v1/orgs/${who.orgId}/holds/${holdId}/release`, body, who.headers());
  /** The body of `holdId`'s release with `reason`, signed by officer 0 of `org`. */
  const signed = (holdId: string, reason: string) =>
    signedHoldRelease(org, org.orgId, holdId, reason, 0, t.clock.now);
  const list = async (who = org.officer): Promise<ListedHold[]> => {
    const r = await call(t.app, 'GET', `/v1/orgs/${who.orgId}/holds`, undefined, who.headers());
    expect(r.statusCode, r.body).toBe(200);
    return r.json<{ holds: ListedHold[] }>().holds;
  };
  const logSize = async () => (await t.stores.log.backlog(org.orgId)).nextIndex;
  const held = () => t.stores.withTransaction((tx) => heldRecordIds(tx, org.orgId, org.bucketId));

  it('places custodian and query holds, lists them without tokens, and covers exactly their records', async () => {
    const c = await create({ kind: 'custodian', custodian: org.members[0]!.userId, matter: MATTER });
    expect(c.statusCode, c.body).toBe(201);
    const q = await create({
      kind: 'query',
      matter: MATTER,
      buckets: [{ bucketId: org.bucketId, tokens: [b64(WORD), b64(OTHER)] }],
    });
    expect(q.statusCode, q.body).toBe(201);
    const [ch, qh] = [c.json<HoldOut>(), q.json<HoldOut>()];
    expect(qh).toMatchObject({ kind: 'query', buckets: [org.bucketId], custodian: null, releasedAt: null });
    expect((await list()).map((h) => h.holdId).sort()).toEqual([ch.holdId, qh.holdId].sort());
    expect(JSON.stringify(await list())).not.toContain(b64(WORD));

    const h = await held();
    expect(h.map((x) => x.logIndex)).toEqual([0, 1, 2, 3, 5].map((i) => indexes[i]));
    expect(h.map((x) => x.holdIds)).toEqual([
      [ch.holdId],
      [ch.holdId],
      [ch.holdId],
      [qh.holdId],
      [qh.holdId],
    ]);

    // Release the custodian hold: its records are free, the query hold's stay held.
    const before = await logSize();
    const body = signed(ch.holdId, REASON);
    const r = await release(ch.holdId, body);
    expect(r.statusCode, r.body).toBe(200);
    expect((await held()).map((x) => x.logIndex)).toEqual([indexes[3], indexes[5]]);
    // Another signed release, or the same one replayed, finds it released.
    for (const b of [signed(ch.holdId, 'twice'), body]) {
      const again = await release(ch.holdId, b);
      expect([again.statusCode, again.json<{ error: { code: string } }>().error.code]).toEqual([
        409,
        'HOLD_RELEASED',
      ]);
    }
    expect(await logSize()).toBe(before + 1);
    const listed = (await list()).find((x) => x.holdId === ch.holdId)!;
    expect([listed.releaseReason, typeof listed.releasedAt]).toEqual([REASON, 'number']);
    // Who placed and released it: the officer's device and, beside it, the officer's user.
    const { officer } = org;
    expect(listed).toMatchObject({
      createdBy: officer.deviceId,
      createdByUser: officer.userId,
      releasedBy: officer.deviceId,
      releasedByUser: officer.userId,
    });
    expect((await list()).find((x) => x.holdId === qh.holdId)).toMatchObject({
      createdByUser: officer.userId,
      releasedBy: null,
      releasedByUser: null,
    });
  });

  it('puts each act in the log as a hold entry whose audit document carries hashes and counts only', async () => {
    const from = await logSize();
    const d = await create({ kind: 'dates', from: 1_700_000_000_000, to: 1_700_086_400_000, matter: MATTER });
    expect(d.statusCode, d.body).toBe(201);
    const { holdId } = d.json<HoldOut>();
    const body = signed(holdId, REASON);
    const statementSha = createHash('sha256').update(Buffer.from(body.statement, 'base64url')).digest('hex');
    expect((await release(holdId, body)).statusCode).toBe(200);
    const entries = (await t.stores.log.entries(org.orgId, from, await logSize())).map((e) =>
      decodeLogEntry(e),
    );
    expect(entries.map((e) => (e.type === 'hold' ? [e.holdId, e.action, e.actor] : e.type))).toEqual([
      [holdId, 'place', org.officer.deviceId],
      [holdId, 'release', org.officer.deviceId],
    ]);
    const acts = (await t.stores.auditPending.list(org.orgId, 0, 1000)).filter((a) => a.subject === holdId);
    expect(acts.map((a) => [a.kind, a.detail])).toEqual([
      ['hold.create', `kind=dates from=1700000000000 to=1700086400000 matter-sha256=${sha(MATTER)}`],
      ['hold.release', `reason-sha256=${sha(REASON)} statement-sha256=${statementSha}`],
    ]);
    // The listing hands consoles the placing act's detail, to check against the entry's hash.
    expect((await list()).find((h) => h.holdId === holdId)?.placedDetail).toBe(acts[0]!.detail);
    const all = JSON.stringify(await t.stores.auditPending.list(org.orgId, 0, 1000));
    for (const secret of [MATTER, REASON, b64(WORD), b64(OTHER), WORD.toString('hex')])
      expect(all).not.toContain(secret);
  });

  it('refuses bad input with a clear error and changes nothing', async () => {
    const holds = (await list()).length;
    const log = await logSize();
    const refuse = async (
      res: Promise<{ statusCode: number; json<T>(): T }>,
      status: number,
      code: string,
    ): Promise<void> => {
      const r = await res;
      expect([r.statusCode, r.json<{ error: { code: string } }>().error.code]).toEqual([status, code]);
    };
    // A custodian that does not exist, or exists in another org.
    await refuse(create({ kind: 'custodian', custodian: newId(), matter: 'M' }), 404, 'USER_NOT_FOUND');
    await refuse(
      create({ kind: 'custodian', custodian: foreign.members[0]!.userId, matter: 'M' }),
      404,
      'USER_NOT_FOUND',
    );
    // Another org's id in the path.
    await refuse(
      create(
        { kind: 'custodian', custodian: org.members[0]!.userId, matter: 'M' },
        org.officer,
        foreign.orgId,
      ),
      403,
      'WRONG_ORG',
    );
    // A bucket the org does not have.
    await refuse(
      create({ kind: 'query', matter: 'M', buckets: [{ bucketId: 'no-such', tokens: [b64(WORD)] }] }),
      404,
      'BUCKET_NOT_FOUND',
    );
    // Oversized or malformed queries.
    const tooMany = Array.from({ length: MAX_HOLD_TOKENS + 1 }, () => b64(randomBytes(16)));
    await refuse(
      create({ kind: 'query', matter: 'M', buckets: [{ bucketId: org.bucketId, tokens: tooMany }] }),
      400,
      'INVALID_REQUEST',
    );
    const buckets = Array.from({ length: MAX_HOLD_BUCKETS + 1 }, (_, i) => ({
      bucketId: `b-${i}`,
      tokens: [b64(WORD)],
    }));
    await refuse(create({ kind: 'query', matter: 'M', buckets }), 400, 'INVALID_REQUEST');
    await refuse(
      create({
        kind: 'query',
        matter: 'M',
        buckets: [{ bucketId: org.bucketId, tokens: [b64(randomBytes(15))] }],
      }),
      400,
      'INVALID_REQUEST',
    );
    const twice = { bucketId: org.bucketId, tokens: [b64(WORD)] };
    await refuse(
      create({ kind: 'conversation', matter: 'M', buckets: [twice, twice] }),
      400,
      'INVALID_REQUEST',
    );
    // Fields that do not fit the kind, an empty range, an oversized or blank matter.
    await refuse(create({ kind: 'custodian', matter: 'M' }), 400, 'INVALID_REQUEST');
    await refuse(create({ kind: 'dates', from: 5, to: 5, matter: 'M' }), 400, 'INVALID_REQUEST');
    await refuse(
      create({ kind: 'dates', from: 1, to: 5, matter: 'M', custodian: org.members[0]!.userId }),
      400,
      'INVALID_REQUEST',
    );
    await refuse(
      create({ kind: 'dates', from: 1, to: 5, matter: 'x'.repeat(MAX_MATTER_CHARS + 1) }),
      400,
      'INVALID_REQUEST',
    );
    await refuse(create({ kind: 'dates', from: 1, to: 5, matter: '   ' }), 400, 'INVALID_REQUEST');
    // Releases: no reason, a blank reason, an unknown hold, another org's hold.
    const c = await create({ kind: 'custodian', custodian: org.members[1]!.userId, matter: 'M' });
    const { holdId } = c.json<HoldOut>();
    await refuse(release(holdId, {}), 400, 'INVALID_REQUEST');
    await refuse(release(holdId, { ...signed(holdId, 'r'), reason: ' \n ' }), 400, 'INVALID_REQUEST');
    const unknown = newId();
    await refuse(release(unknown, signed(unknown, 'r')), 404, 'HOLD_NOT_FOUND');
    const f = await create(
      { kind: 'custodian', custodian: foreign.members[0]!.userId, matter: 'F' },
      foreign.officer,
      foreign.orgId,
    );
    expect(f.statusCode, f.body).toBe(201);
    const foreignHold = f.json<HoldOut>().holdId;
    await refuse(release(foreignHold, signed(foreignHold, 'r')), 404, 'HOLD_NOT_FOUND');
    // Members and auditors may not place holds.
    await refuse(
      create({ kind: 'custodian', custodian: org.members[0]!.userId, matter: 'M' }, org.members[0]),
      403,
      'ROLE_FORBIDDEN',
    );
    // Only the one valid hold was added, with its one log entry; it is still active.
    const now = await list();
    expect(now.length).toBe(holds + 1);
    expect(now.find((h) => h.holdId === holdId)?.releasedAt).toBeNull();
    expect(await logSize()).toBe(log + 1);
    expect((await list(foreign.officer)).map((h) => h.holdId)).toEqual([f.json<HoldOut>().holdId]);
  });

  it('releases only on a statement the named officer signed for this org, hold and reason; anything else changes nothing', async () => {
    const c = await create({ kind: 'custodian', custodian: org.members[0]!.userId, matter: 'M-SIG' });
    const { holdId } = c.json<HoldOut>();
    const other = (
      await create({ kind: 'custodian', custodian: org.members[1]!.userId, matter: 'M-2' })
    ).json<HoldOut>();
    // Officer 1's own device (dev.officer is officer 0's), bound before the log is counted.
    const officer1 = await boundOfficerDevice(
      t,
      { orgId: org.orgId, devices: { admin: org.admin }, officers: org.officers } as unknown as TestOrg,
      1,
    );
    const log = await logSize();
    const refused = async (body: Record<string, unknown>, status: number, code: string, message: RegExp) => {
      const r = await release(holdId, body);
      expect([r.statusCode, r.json<{ error: { code: string } }>().error.code], r.body).toEqual([
        status,
        code,
      ]);
      expect(r.json<{ error: { message: string } }>().error.message).toMatch(message);
    };
    const good = signed(holdId, REASON);
    const statementOf = (fields: Partial<HoldRelease>) =>
      encodeHoldRelease({
        orgId: org.orgId,
        holdId,
        reasonSha256: sha(REASON),
        officerIndex: 0,
        at: t.clock.now,
        ...fields,
      });
    const signWith = (statement: Uint8Array, key: KeyObject) => ({
      reason: REASON,
      statement: b64(statement),
      signature: b64(sign(null, holdReleaseMessage(statement), key)),
    });
    const officer0 = org.officers[0]!.signingKey;
    // Missing statement or signature: the body says what it lacks.
    await refused({ reason: REASON }, 400, 'INVALID_REQUEST', /statement/);
    await refused({ reason: REASON, statement: good.statement }, 400, 'INVALID_REQUEST', /signature/);
    await refused(
      { ...good, statement: b64(Buffer.from('not cbor')) },
      400,
      'INVALID_REQUEST',
      /body\.statement/,
    );
    // A statement for another org, another hold (the other hold's own, replayed here) or another reason.
    await refused(
      signWith(statementOf({ orgId: foreign.orgId }), officer0),
      400,
      'INVALID_REQUEST',
      /another organisation/,
    );
    await refused(signed(other.holdId, REASON), 400, 'INVALID_REQUEST', /another hold/);
    await refused({ ...good, reason: 'a different reason' }, 400, 'INVALID_REQUEST', /another reason/);
    // Signatures that are not the named officer's: another officer's, another org's officer's,
    // another officer's own (from officer 0's device), bytes of the right length.
    await refused(
      signWith(statementOf({}), org.officers[1]!.signingKey),
      400,
      'INVALID_KEY',
      /officer 0's signature/,
    );
    await refused(
      signWith(statementOf({}), foreign.officers[0]!.signingKey),
      400,
      'INVALID_KEY',
      /officer 0's signature/,
    );
    // Officer 1's own valid statement, sent from officer 0's device: the act names the device.
    await refused(
      signWith(statementOf({ officerIndex: 1 }), org.officers[1]!.signingKey),
      403,
      'OFFICER_NOT_SIGNER',
      /signed as officer 1, but this device is bound to officer 0/,
    );
    await refused({ ...good, signature: b64(Buffer.alloc(64, 7)) }, 400, 'INVALID_KEY', /does not verify/);
    await refused({ ...good, signature: b64(Buffer.alloc(63, 7)) }, 400, 'INVALID_REQUEST', /signature/);
    expect((await t.stores.holds.get(org.orgId, holdId as HoldId))?.releasedAt).toBeNull();
    expect(await logSize()).toBe(log);

    // Officer 1 signs for themselves, from their own device: released, and the act and the
    // listing carry the statement.
    const by1 = signWith(statementOf({ officerIndex: 1 }), org.officers[1]!.signingKey);
    const ok = await release(holdId, by1, officer1);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(await logSize()).toBe(log + 1);
    const act = (await t.stores.auditPending.list(org.orgId, 0, 10_000)).find(
      (a) => a.kind === 'hold.release' && a.subject === holdId,
    )!;
    expect(act.detail).toBe(holdReleaseActDetail(REASON, Buffer.from(by1.statement, 'base64url')));
    const listed = (await list()).find((h) => h.holdId === holdId)!;
    expect([listed.releaseStatement, listed.releaseSignature]).toEqual([by1.statement, by1.signature]);
    expect((await list()).find((h) => h.holdId === other.holdId)).toMatchObject({
      releaseStatement: null,
      releaseSignature: null,
    });
    // Replayed: the hold is released already; the other hold stays active.
    const replay = await release(holdId, by1, officer1);
    expect([replay.statusCode, replay.json<{ error: { code: string } }>().error.code]).toEqual([
      409,
      'HOLD_RELEASED',
    ]);
    expect((await t.stores.holds.get(org.orgId, other.holdId as HoldId))?.releasedAt).toBeNull();
    expect(await logSize()).toBe(log + 1);
  });

  it('extends a query hold to a bucket it does not cover, once, and only an active token hold', async () => {
    const sealed = randomBytes(40);
    // A hold placed before the bucket existed: no tokens yet, its criterion sealed (opaque here).
    const holdId = newId<OrgId>() as string as HoldId;
    await t.stores.holds.create(org.orgId, {
      holdId,
      matter: 'M-LATER',
      scope: { kind: 'query', buckets: [] },
      createdBy: org.officer.deviceId,
      createdAt: t.clock.now,
      sealed,
    });
    const extend = (id: string, body: Record<string, unknown>, who = org.officer) =>
      call(t.app, 'POST', `/v1/orgs/${who.orgId}/holds/${id}/buckets`, body, who.headers());
    const covers = async () =>
      (await held()).filter((x) => x.holdIds.includes(holdId)).map((x) => x.logIndex);
    expect(await covers()).toEqual([]);
    const listed = (await list()).find((h) => h.holdId === holdId) as HoldOut & { sealed: string };
    expect(listed.sealed).toBe(b64(sealed));
    const body = { buckets: [{ bucketId: org.bucketId, tokens: [b64(WORD)] }] };
    const before = await logSize();
    const r = await extend(holdId, body);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json<HoldOut>().buckets).toEqual([org.bucketId]);
    expect(await covers()).toEqual([0, 3, 4, 5].map((i) => indexes[i]));
    expect(await logSize()).toBe(before + 1);
    // The same bucket again, a custodian hold, another org's officer, a bucket that does not exist.
    const custodian = (
      await create({ kind: 'custodian', custodian: org.members[1]!.userId, matter: 'M' })
    ).json<HoldOut>();
    const refusals: [Awaited<ReturnType<typeof extend>>, number, string][] = [
      [await extend(holdId, body), 400, 'INVALID_REQUEST'],
      [await extend(custodian.holdId, body), 400, 'INVALID_REQUEST'],
      [await extend(holdId, body, foreign.officer), 404, 'HOLD_NOT_FOUND'],
      [
        await extend(holdId, { buckets: [{ bucketId: 'standard-1999-01', tokens: [b64(WORD)] }] }),
        404,
        'BUCKET_NOT_FOUND',
      ],
    ];
    for (const [res, status, code] of refusals) {
      expect([res.statusCode, res.json<{ error: { code: string } }>().error.code]).toEqual([status, code]);
    }
    expect((await release(holdId, signed(holdId, REASON))).statusCode).toBe(200);
    const late = await extend(holdId, body);
    expect([late.statusCode, late.json<{ error: { code: string } }>().error.code]).toEqual([
      409,
      'HOLD_RELEASED',
    ]);
    expect((await release(custodian.holdId, signed(custodian.holdId, REASON))).statusCode).toBe(200);
  });

  it("replaces an active token hold's sealed criterion with a re-sealed one, as an audit act", async () => {
    const holdId = newId<OrgId>() as string as HoldId;
    await t.stores.holds.create(org.orgId, {
      holdId,
      matter: 'M-RESEAL',
      scope: { kind: 'query', buckets: [] },
      createdBy: org.officer.deviceId,
      createdAt: t.clock.now,
      sealed: randomBytes(40),
    });
    const reseal = (id: string, sealed: Buffer, who = org.officer) =>
      call(t.app, 'PUT', `/v1/orgs/${who.orgId}/holds/${id}/sealed`, { sealed: b64(sealed) }, who.headers());
    const next = randomBytes(64);
    const before = await logSize();
    const r = await reseal(holdId, next);
    expect(r.statusCode, r.body).toBe(200);
    const listed = (await list()).find((h) => h.holdId === holdId) as HoldOut & { sealed: string };
    expect(listed.sealed).toBe(b64(next));
    expect(await logSize()).toBe(before + 1);
    const custodian = (
      await create({ kind: 'custodian', custodian: org.members[1]!.userId, matter: 'M' })
    ).json<HoldOut>();
    const refusals: [Awaited<ReturnType<typeof reseal>>, number, string][] = [
      [await reseal(custodian.holdId, next), 400, 'INVALID_REQUEST'],
      [await reseal(holdId, next, foreign.officer), 404, 'HOLD_NOT_FOUND'],
      [await reseal(holdId, next, org.members[0]), 403, 'ROLE_FORBIDDEN'],
    ];
    for (const [res, status, code] of refusals) {
      expect([res.statusCode, res.json<{ error: { code: string } }>().error.code]).toEqual([status, code]);
    }
    expect((await release(holdId, signed(holdId, REASON))).statusCode).toBe(200);
    const late = await reseal(holdId, randomBytes(8));
    expect([late.statusCode, late.json<{ error: { code: string } }>().error.code]).toEqual([
      409,
      'HOLD_RELEASED',
    ]);
    expect((await release(custodian.holdId, signed(custodian.holdId, REASON))).statusCode).toBe(200);
    const kept = (await list()).find((h) => h.holdId === holdId) as HoldOut & { sealed: string };
    expect(kept.sealed).toBe(b64(next));
  });
});
