/**
 * Disposition certificates are checked against the officer list in force when they were
 * executed (officer-list-history.ts): after an approver is removed and the quorum raised, an
 * earlier lawful disposition still verifies, a later one approved by the removed officer does
 * not, and a server that withholds or reorders the officer list history is refused.
 */
import { createHash } from 'node:crypto';
import {
  dispositionApprovalMessage,
  dispositionPlanHash,
  encodeDeterministicCbor,
  encodeDispositionCertificate,
  encodeDispositionPlan,
  LeafDigest,
  sealOfficerList,
  type LogEntry,
} from '@custos/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { readDispositions } from './completeness/disposed-records.js';
import type { IndexedEntry, VerifiedLog } from './completeness/verified-log.js';
import { isConsoleError } from './console-error.js';
import {
  keepCeremonyList,
  officerListHistory,
  readOfficerListHistory,
  type ServedOfficerChange,
} from './officer-list-history.js';
import { encodeOfficerPublicKey, generateOfficerKeys, type OfficerKeys } from './officer-keys.js';
import type { OfficerSession } from './officer-session.js';
import type { OrgFile } from './profile-files.js';
import { keyFingerprint, SigningKey } from './signing-key.js';

const ORG = 'AAAAAAAAAAAAAAAAAAAAAA';
const DAY = 86_400_000;
const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64url');
const sha256 = (u: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(u).digest());
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');

const orgKey = SigningKey.generate();
let keys: OfficerKeys[] = [];
const pub = (i: number) => ({ index: i, publicKey: b64(encodeOfficerPublicKey(keys[i]!)) });

/** The org.json of a profile: the ceremony's officers 0–2 (quorum 2), or a later list it adopted. */
function orgFile(over: Partial<OrgFile> = {}): OrgFile {
  return {
    format: 'custos-org',
    version: 1,
    orgId: ORG,
    name: 'Example',
    server: 'http://127.0.0.1:1',
    signingPublicKey: b64(orgKey.publicKey),
    signingKeyFingerprint: keyFingerprint(orgKey.publicKey),
    rootArchivePublicKey: 'r',
    rootArchiveKeyFingerprint: 'x',
    keyManager: { publicKey: 'k', delegation: 'd', notBefore: 0, notAfter: 1 },
    officerQuorum: 2,
    officers: [pub(0), pub(1), pub(2)],
    buckets: [],
    ...over,
  };
}

/** A signed list of `officers` with quorum `m`, and the act document and log entry that logged it. */
function change(
  officers: number[],
  m: number,
  at: number,
): { list: Uint8Array; act: Uint8Array; entry: LogEntry } {
  const list = sealOfficerList(
    {
      org: ORG,
      quorum: m,
      officers: officers.map((i) => ({ index: i, publicKey: encodeOfficerPublicKey(keys[i]!) })),
      demote: [],
      issuedAt: at,
    },
    orgKey,
  );
  const act = encodeDeterministicCbor({
    org: ORG,
    kind: 'officers.change',
    act: 'dev',
    sub: 'officers',
    at,
    det: `n=${officers.length} m=${m} added=- removed=- list-sha256=${hex(sha256(list))}`,
  });
  const entry: LogEntry = {
    type: 'audit-event',
    kind: 'officers-change',
    hash: sha256(act),
    size: act.length,
    actor: 'dev',
    time: at,
  };
  return { list, act, entry };
}

/** A one-bucket plan (empty span) executed with the approvals of `approvers`: its log entries and the server's view. */
function executed(bucket: string, approvers: number[], at: number) {
  const plan = encodeDispositionPlan({
    orgId: ORG,
    asOf: at,
    madeAt: at,
    buckets: [
      {
        bucketId: bucket,
        retentionClass: 'transitory',
        period: '2020-01',
        expiresAt: at,
        records: 0,
        held: 0,
        span: null,
        leaves: new LeafDigest().digest(),
      },
    ],
  });
  const planId = hex(dispositionPlanHash(plan));
  const certificate = encodeDispositionCertificate({
    orgId: ORG,
    planHash: dispositionPlanHash(plan),
    executedAt: at,
    approvals: approvers.map((i) => ({
      officerIndex: i,
      signature: keys[i]!.signingKey.sign(dispositionApprovalMessage(plan)),
    })),
    buckets: [{ bucketId: bucket, records: 0, held: 0, keysDestroyed: true }],
  });
  const act = encodeDeterministicCbor({
    org: ORG,
    kind: 'disposition.execute',
    act: 'dev',
    sub: planId,
    at,
    det: `cert=${hex(sha256(certificate))}`,
  });
  const entries: LogEntry[] = [
    {
      type: 'disposition',
      hash: sha256(certificate),
      size: certificate.length,
      actor: 'system',
      time: at,
      bucket: bucket as never,
      records: 0,
    },
    {
      type: 'audit-event',
      kind: 'disposition-execute',
      hash: sha256(act),
      size: act.length,
      actor: 'dev',
      time: at,
    },
  ];
  const view = {
    planId,
    plan: b64(plan),
    state: 'executed',
    certificate: b64(certificate),
    approvals: [],
    buckets: [],
  };
  return { planId, act, entries, view };
}

beforeAll(async () => {
  const km = SigningKey.generate();
  keys = await Promise.all([0, 1, 2, 3].map((i) => generateOfficerKeys(i, km)));
});

describe('disposition certificates after the officers change', () => {
  it('verifies each certificate against the officer list in force when it was executed', async () => {
    // Officers 0 and 1 approve under the ceremony's list (quorum 2); then officer 1 is removed,
    // officer 3 added and the quorum raised to 3; then 0 and 1 "approve" another plan.
    const before = executed('transitory-2020-01', [0, 1], DAY);
    const removal = change([0, 2, 3], 3, 2 * DAY);
    const after = executed('transitory-2020-02', [0, 1], 3 * DAY);
    const entries: IndexedEntry[] = [...before.entries, removal.entry, ...after.entries].map(
      (entry, index) => ({
        index,
        entry,
      }),
    );
    const log: VerifiedLog = {
      origin: 'o',
      verifierKey: 'k',
      treeSize: entries.length,
      checkpoint: '',
      entries,
    };
    const acts = [
      { index: 1, document: b64(before.act) },
      { index: 2, document: b64(removal.act) },
      { index: 4, document: b64(after.act) },
    ];
    const views = new Map([before, after].map((d) => [d.planId, d.view]));
    // The profile of the officer added with the removal: org.json holds the new list, and the
    // ceremony's, which the adding quorum's org.json handed on.
    const org = {
      ...keepCeremonyList(orgFile()),
      officers: [pub(0), pub(2), pub(3)],
      officerQuorum: 3,
      officerListIssuedAt: 2 * DAY,
    };
    const session = {
      orgId: ORG,
      officer: { org },
      call: (_m: string, path: string) => {
        if (path.includes('/audit?')) return Promise.resolve({ acts, next: null });
        if (path.endsWith('/officers/history'))
          return Promise.resolve({ changes: [{ list: b64(removal.list), act: b64(removal.act) }] });
        const planId = /dispositions\/([0-9a-f]{64})/.exec(path)?.[1];
        return Promise.resolve(views.get(planId ?? '') ?? {});
      },
    } as unknown as OfficerSession;
    const [first, second] = await readDispositions(session, log);
    expect(first).toMatchObject({ planId: before.planId, problem: null, approvers: [0, 1] });
    expect(second?.planId).toBe(after.planId);
    expect(second?.problem).toMatch(
      /1 valid approval\(s\) of the officers in force when it was executed, 3 needed/,
    );
  });
});

describe('officerListHistory', () => {
  const one = () => change([0, 2], 2, 2 * DAY);
  const two = () => change([0, 2, 3], 2, 3 * DAY);
  const indexed = (...es: LogEntry[]): IndexedEntry[] => es.map((entry, index) => ({ index, entry }));
  const serve = (...cs: { list: Uint8Array; act: Uint8Array | null }[]): ServedOfficerChange[] => cs;
  const refusal = (f: () => unknown): Error => {
    try {
      f();
    } catch (e) {
      expect(isConsoleError(e, 'SERVER_REFUSED'), String(e)).toBe(true);
      return e as Error;
    }
    throw new Error('not refused');
  };

  it('gives the ceremony list before the first change and each change after its act', () => {
    const [a, b] = [one(), two()];
    const h = officerListHistory(orgFile(), indexed(a.entry, b.entry), serve(a, b));
    expect(h.at(0).officers.map((o) => o.index)).toEqual([0, 1, 2]);
    expect(h.at(1).officers.map((o) => o.index)).toEqual([0, 2]);
    expect(h.at(2).officers.map((o) => o.index)).toEqual([0, 2, 3]);
    // A list past the verified log (its act not yet in a checkpoint) is left for the next run.
    expect(officerListHistory(orgFile(), indexed(a.entry), serve(a, b)).at(5).officers).toHaveLength(2);
  });

  it('asks the server once per verified log and session, not once per caller', async () => {
    const a = one();
    let asked = 0;
    const session = {
      orgId: ORG,
      officer: { org: orgFile() },
      call: async () => {
        asked++;
        return { changes: [{ list: b64(a.list), act: b64(a.act) }] };
      },
    } as unknown as OfficerSession;
    const log = indexed(a.entry);
    const [first, second] = await Promise.all([
      readOfficerListHistory(session, log),
      readOfficerListHistory(session, log),
    ]);
    expect(first).toBe(second);
    expect(asked).toBe(1);
    // Another verified log (a later run) asks again.
    await readOfficerListHistory(session, indexed(a.entry));
    expect(asked).toBe(2);
  });

  it('refuses a history that withholds, reorders or swaps a list the log records', () => {
    const [a, b] = [one(), two()];
    const log = indexed(a.entry, b.entry);
    expect(refusal(() => officerListHistory(orgFile(), log, serve(a))).message).toMatch(
      /officer change at log index 1 .* has no list; the server is withholding officer list history/,
    );
    expect(refusal(() => officerListHistory(orgFile(), log, serve(b, a))).message).toMatch(
      /reordered or withheld/,
    );
    expect(
      refusal(() => officerListHistory(orgFile(), log, serve({ list: a.list, act: null }, b))).message,
    ).toMatch(/gives no log act for its list 1/);
    expect(
      refusal(() => officerListHistory(orgFile(), log, serve({ list: b.list, act: a.act }, b))).message,
    ).toMatch(/list 1 is not the list the officer change at log index 0/);
  });

  it('says so when a disposition predates the first change and the profile lost the ceremony list', () => {
    const a = one();
    const lost = orgFile({ officers: [pub(0), pub(2)], officerListIssuedAt: 2 * DAY });
    const h = officerListHistory(lost, indexed(a.entry, a.entry).slice(0, 1), serve(a));
    expect(h.at(1).officers).toHaveLength(2);
    expect(() => h.at(0)).toThrow(/does not hold the ceremony's officer list/);
    // Adopting a list keeps the ceremony's; a profile that kept it hands it on.
    expect(keepCeremonyList(orgFile()).ceremonyOfficerList).toEqual({
      quorum: 2,
      officers: [pub(0), pub(1), pub(2)],
    });
    expect(keepCeremonyList(lost)).toBe(lost);
  });
});
