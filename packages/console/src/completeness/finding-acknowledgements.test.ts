/**
 * Finding ids and officers' acknowledgements, with a stand-in server that answers (and lies)
 * as told: an acknowledgement counts only when signed by the officer it names and logged; it
 * covers exactly its own finding; bad input is refused before anything is sent.
 */
import {
  encodeDeterministicCbor,
  encodeFindingAcknowledgement,
  sealOfficerList,
  type LogEntry,
} from '@custos/core';
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeOfficerPublicKey, generateOfficerKeys, type OfficerKeys } from '../officer-keys.js';
import type { OfficerSession } from '../officer-session.js';
import { keyFingerprint, SigningKey } from '../signing-key.js';
import type { CompletenessFinding } from './completeness-findings.js';
import { acknowledgeFindings, type CurrentFindings } from './acknowledge-findings.js';
import { applyAcknowledgements, readAcknowledgements } from './finding-acknowledgements.js';
import { findingId, findingIdOrg, type IdentifiedFinding } from './finding-ids.js';
import type { IndexedEntry, VerifiedLog } from './verified-log.js';
import { servedAcknowledgement, type ServedAcknowledgement } from './acknowledgement-test-support.js';

const ORG = 'org-1';
const OFFICER_DEVICE = 'officer-dev';
const ORG_KEY = SigningKey.generate();
const sha256 = (u: Uint8Array): Buffer => createHash('sha256').update(u).digest();

type Served = ServedAcknowledgement;

/** A signed acknowledgement as the server would serve it, and the log entry its act makes. */
function signed(
  keys: OfficerKeys,
  findingIdText: string,
  over: { claim?: number; at?: number; state?: string } = {},
) {
  const statement = encodeFindingAcknowledgement({
    orgId: ORG,
    findingId: findingIdText,
    reason: 'Phone wiped before upload (incident 114).',
    officerIndex: over.claim ?? keys.index,
    at: 5,
    ...(over.state === undefined ? {} : { state: over.state }),
  });
  return servedAcknowledgement({
    org: ORG,
    deviceId: OFFICER_DEVICE,
    findingId: findingIdText,
    statement,
    signer: keys.signingKey,
    at: over.at ?? 1000,
  });
}

const logOf = (entries: LogEntry[]): VerifiedLog =>
  ({
    entries: entries.map((entry, index): IndexedEntry => ({ index, entry })),
    treeSize: entries.length,
  }) as unknown as VerifiedLog;

const gap = (device: string, from: number, to: number): IdentifiedFinding => {
  const f: CompletenessFinding = { kind: 'gap', deviceId: device, from, to, evidence: ['log'] };
  return { ...f, id: findingId(ORG, f, new Map()) };
};

describe('finding acknowledgements', () => {
  let officers: OfficerKeys[];
  /** What the stand-in server serves, and the requests it got. */
  let serving: Served[];
  /** The officer list history the stand-in server serves (signed lists and their act documents). */
  let history: { list: string; act: string }[] = [];
  let posts: unknown[];
  let session: OfficerSession;

  beforeAll(async () => {
    officers = [
      await generateOfficerKeys(0, SigningKey.generate()),
      await generateOfficerKeys(1, SigningKey.generate()),
    ];
    session = {
      orgId: ORG,
      officerIndex: 0,
      officer: {
        keys: officers[0],
        org: {
          orgId: ORG,
          signingPublicKey: Buffer.from(ORG_KEY.publicKey).toString('base64url'),
          signingKeyFingerprint: keyFingerprint(ORG_KEY.publicKey),
          officerQuorum: 1,
          officers: officers.map((k) => ({
            index: k.index,
            publicKey: Buffer.from(encodeOfficerPublicKey(k)).toString('base64url'),
          })),
        },
      },
      call: async (method: string, path: string, body?: unknown) => {
        if (method === 'POST') {
          posts.push({ path, body });
          return {};
        }
        if (path.endsWith('/officers/history')) return { changes: history };
        return { acknowledgements: serving, next: null };
      },
    } as unknown as OfficerSession;
  });

  it('gives each finding an id naming what it covers: a new gap of the same device has another', () => {
    const devices = new Map([
      [
        'd1',
        {
          records: new Map([
            [0, 1],
            [7, 2],
          ]),
        },
      ],
    ]);
    expect(gap('d1', 1, 1).id).toBe('gap/org-1/d1/1-1');
    expect(gap('d1', 4, 6).id).not.toBe(gap('d1', 1, 1).id);
    expect(gap('d1', 1, 2).id).not.toBe(gap('d1', 1, 1).id);
    const silent = (deviceId: string) =>
      findingId(ORG, { kind: 'silent-device', deviceId, lastRecordAt: 2, silentForMs: 9 }, devices);
    expect(silent('d1')).toBe('silent/org-1/d1/7');
    expect(silent('d9')).toBe('silent/org-1/d9/none');
    expect(
      findingId(
        ORG,
        {
          kind: 'unmatched-receipt',
          deviceId: 'd1',
          logIndex: 41,
          envelopeHash: 'ab',
          sender: 'd1',
          recipient: 'd2',
          time: 1,
        },
        devices,
      ),
    ).toBe('unarchived/org-1/d1/41');
    expect(findingId(ORG, { kind: 'invalid-record', deviceId: 'd1', seq: 3, reason: 'x' }, devices)).toBe(
      'invalid/org-1/d1/3',
    );
    const cert = 'ef'.repeat(32);
    const unverified = (bucketId: string | null) =>
      findingId(
        ORG,
        {
          kind: 'unverified-disposition',
          logIndex: 9,
          certificateHash: cert,
          planId: null,
          bucketId,
          reason: 'r',
        },
        devices,
      );
    expect(unverified(null)).toBe(`unverified-disposition/org-1/${cert}`);
    expect(unverified('standard-2026-11')).toBe(`unverified-disposition/org-1/${cert}/standard-2026-11`);
    // A revoked device: the revocation is the finding, whatever it explains (its state).
    const revoked = (
      unarchivedReceipts: number,
      handedIn: { from: number; to: number } | null,
      declaredAfter: number[] = [],
    ) =>
      findingId(
        ORG,
        {
          kind: 'revoked-device',
          deviceId: 'd2',
          revokedAt: 5,
          revokedLogIndex: 12,
          revokedBy: 'a1',
          lastSeqBeforeRevocation: 3,
          handedIn: handedIn === null ? null : { ...handedIn, count: 1, firstAt: 6, lastAt: 6 },
          declaredAfter: declaredAfter.map((logIndex) => ({
            from: 7,
            to: 9,
            reason: 'device-lost',
            logIndex,
            time: 8,
          })),
          unarchivedReceipts,
        },
        devices,
      );
    expect(revoked(2, null)).toBe('revoked/org-1/d2/12');
    expect(revoked(0, { from: 4, to: 6 })).toBe('revoked/org-1/d2/12');
    expect(revoked(7, { from: 4, to: 7 }, [12, 15])).toBe('revoked/org-1/d2/12');
    expect(findingIdOrg(revoked(0, null))).toBe(ORG);
    // A hold: one finding per thing that disagrees, each an id of this org.
    const hold = (aspect: 'not-listed' | 'scope') =>
      findingId(ORG, { kind: 'hold-mismatch', holdId: 'h_1', aspect, problem: 'p' }, devices);
    expect(hold('not-listed')).toBe('hold-mismatch/org-1/h_1/not-listed');
    expect(hold('scope')).not.toBe(hold('not-listed'));
    expect(findingIdOrg(hold('scope'))).toBe(ORG);
  });

  it('counts a signed, logged acknowledgement for exactly its own finding', async () => {
    const a = signed(officers[1]!, 'gap/org-1/d1/1-1');
    serving = [a.served];
    const read = await readAcknowledgements(session, logOf([a.entry]));
    expect(read.problems).toEqual([]);
    expect(read.verified).toEqual([
      {
        findingId: 'gap/org-1/d1/1-1',
        reason: 'Phone wiped before upload (incident 114).',
        officerIndex: 1,
        deviceId: OFFICER_DEVICE,
        acknowledgedAt: 1000,
        logIndex: 0,
      },
    ]);
    // The same device's later gap, a wider run and another device's same run all still fail.
    const findings = [gap('d1', 1, 1), gap('d1', 1, 2), gap('d1', 4, 4), gap('d2', 1, 1)];
    const split = applyAcknowledgements(findings, read.verified);
    expect(split.acknowledged.map((f) => f.id)).toEqual(['gap/org-1/d1/1-1']);
    expect(split.acknowledged[0]!.acknowledgement.officerIndex).toBe(1);
    expect(split.findings.map((f) => f.id)).toEqual([
      'gap/org-1/d1/1-2',
      'gap/org-1/d1/4-4',
      'gap/org-1/d2/1-1',
    ]);
  });

  it('counts nothing the server forges, moves, serves without its log entry or withholds', async () => {
    // Signed by officer 1, claiming officer 0.
    const forged = signed(officers[1]!, 'gap/org-1/d1/1-1', { claim: 0 });
    // A genuine acknowledgement of 1-1, served as the acknowledgement of another finding.
    const genuine = signed(officers[0]!, 'gap/org-1/d1/1-1', { at: 1500 });
    const moved = { ...genuine.served, findingId: 'gap/org-1/d1/4-4' };
    // Signed and served, but its act is not in the verified log (another act time).
    const unlogged = signed(officers[0]!, 'gap/org-1/d3/2-2', { at: 2000 });
    const withheld = signed(officers[0]!, 'gap/org-1/d5/0-0');
    serving = [forged.served, moved, unlogged.served];
    const log = logOf([forged.entry, genuine.entry, withheld.entry]);
    const read = await readAcknowledgements(session, log);
    expect(read.verified).toEqual([]);
    expect(read.problems).toEqual([
      "the acknowledgement of gap/org-1/d1/1-1: its signature does not verify as officer 1's",
      'the acknowledgement of gap/org-1/d1/4-4: its statement names another organisation or finding',
      'the acknowledgement of gap/org-1/d3/2-2: the verified log has no act for it (yet)',
      'log entry 0: an acknowledgement the server does not serve or that does not verify; its finding is not acknowledged',
      'log entry 1: an acknowledgement the server does not serve or that does not verify; its finding is not acknowledged',
      'log entry 2: an acknowledgement the server does not serve or that does not verify; its finding is not acknowledged',
    ]);
    // With no acknowledgement act in the log the server is not even asked.
    serving = [genuine.served];
    expect((await readAcknowledgements(session, logOf([]))).verified).toEqual([]);
  });

  it('checks each acknowledgement against the officers in office when it was logged', async () => {
    // Officer 1 acknowledges, is then removed (a signed list the log records), and later
    // acknowledges again: the first still counts, the second does not.
    const before = signed(officers[1]!, 'gap/org-1/d1/1-1', { at: 1000 });
    const list = sealOfficerList(
      {
        org: ORG,
        quorum: 1,
        officers: [{ index: 0, publicKey: encodeOfficerPublicKey(officers[0]!) }],
        demote: [],
        issuedAt: 2000,
      },
      ORG_KEY,
    );
    const act = encodeDeterministicCbor({
      org: ORG,
      kind: 'officers.change',
      act: OFFICER_DEVICE,
      sub: 'officers',
      at: 2000,
      det: `n=1 m=1 added=- removed=1 list-sha256=${sha256(list).toString('hex')}`,
    });
    const removal: LogEntry = {
      type: 'audit-event',
      kind: 'officers-change',
      hash: sha256(act),
      size: act.length,
      actor: OFFICER_DEVICE,
      time: 2000,
    };
    const after = signed(officers[1]!, 'gap/org-1/d2/1-1', { at: 3000 });
    serving = [before.served, after.served];
    history = [
      { list: Buffer.from(list).toString('base64url'), act: Buffer.from(act).toString('base64url') },
    ];
    try {
      const read = await readAcknowledgements(session, logOf([before.entry, removal, after.entry]));
      expect(read.verified.map((v) => v.findingId)).toEqual(['gap/org-1/d1/1-1']);
      expect(read.problems[0]).toBe(
        'the acknowledgement of gap/org-1/d2/1-1: signed as officer 2, who was not an officer when it was logged (log 2)',
      );
      // A server that withholds the list its log records is refused, not taken on org.json's word.
      history = [];
      await expect(readAcknowledgements(session, logOf([before.entry, removal]))).rejects.toThrow(
        /withholding officer list history/,
      );
    } finally {
      history = [];
    }
  });

  it('stops a server that pages for ever, with fresh or repeated acknowledgements', async () => {
    const a = signed(officers[0]!, 'gap/org-1/d1/1-1');
    let n = 0;
    const endless = (fresh: boolean) =>
      ({
        ...session,
        call: async () => ({
          acknowledgements: [
            { ...a.served, findingId: fresh ? `gap/org-1/d1/${++n}-${n}` : a.served.findingId },
          ],
          next: 'more',
        }),
      }) as unknown as OfficerSession;
    await expect(readAcknowledgements(endless(true), logOf([a.entry]))).rejects.toMatchObject({
      code: 'SERVER_REFUSED',
      message: expect.stringContaining('more than the 1 acknowledgement(s) the log records'),
    });
    await expect(readAcknowledgements(endless(false), logOf([a.entry]))).rejects.toMatchObject({
      code: 'SERVER_REFUSED',
      message: expect.stringContaining('repeats'),
    });
  });

  it('lets no single officer explain away records the server lost, altered or destroyed', async () => {
    posts = [];
    const f = (finding: CompletenessFinding): IdentifiedFinding => ({
      ...finding,
      id: findingId(ORG, finding, new Map()),
    });
    const notServed = f({ kind: 'gap', deviceId: 'd1', from: 2, to: 2, evidence: ['not-served'] });
    const invalid = f({
      kind: 'invalid-record',
      deviceId: 'd1',
      seq: 7,
      reason: 'its hash is not its entry',
    });
    const wiped = f({ kind: 'gap', deviceId: 'd2', from: 1, to: 3, evidence: ['log', 'declared'] });
    // A hold the server no longer lists: only listing it again ends the finding.
    const hidden = f({
      kind: 'hold-mismatch',
      holdId: 'h1',
      aspect: 'not-listed',
      problem: 'the log shows it placed and not released (entry 4), the server does not list it',
    });
    const current: CurrentFindings = { findings: [notServed, invalid, hidden, wiped], acknowledged: [] };
    for (const x of [notServed, invalid, hidden])
      await expect(acknowledgeFindings(session, [x.id], 'Explained.', current)).rejects.toMatchObject({
        code: 'FINDING_NOT_ACKNOWLEDGEABLE',
      });
    expect(posts).toEqual([]);
    // An acknowledgement made anyway (another console) leaves such a finding open; a device-side loss is covered.
    const ack = (id: string) => ({
      findingId: id,
      reason: 'r',
      officerIndex: 0,
      deviceId: OFFICER_DEVICE,
      acknowledgedAt: 1,
      logIndex: 0,
    });
    const split = applyAcknowledgements(
      [notServed, invalid, hidden, wiped],
      [notServed, invalid, hidden, wiped].map((x) => ack(x.id)),
    );
    expect(split.findings.map((x) => x.id)).toEqual([notServed.id, invalid.id, hidden.id]);
    expect(split.acknowledged.map((x) => x.id)).toEqual([wiped.id]);
  });

  it('refuses bad input before anything is sent', async () => {
    posts = [];
    const acked = {
      ...gap('d1', 1, 1),
      acknowledgement: {
        findingId: 'gap/org-1/d1/1-1',
        reason: 'r',
        officerIndex: 1,
        deviceId: 'x',
        acknowledgedAt: 0,
        logIndex: 3,
      },
    };
    const current: CurrentFindings = { findings: [gap('d1', 4, 4)], acknowledged: [acked] };
    const attempt = (ids: string[], reason = 'Explained.') =>
      acknowledgeFindings(session, ids, reason, current);
    await expect(attempt(['gap/org-1/d1/9-9'])).rejects.toMatchObject({ code: 'FINDING_NOT_FOUND' });
    await expect(attempt(['gap/org-2/d1/4-4'])).rejects.toMatchObject({
      code: 'FINDING_NOT_FOUND',
      message: expect.stringContaining('belongs to organisation org-2'),
    });
    await expect(attempt(['gap/org-1/d1/1-1'])).rejects.toMatchObject({
      code: 'FINDING_ACKNOWLEDGED',
      message: expect.stringContaining('by officer 2'),
    });
    await expect(attempt(['gap/org-1/d1/4-4'], '   ')).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await expect(attempt(['gap/org-1/d1/4-4'], 'two\nlines')).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
    });
    await expect(attempt(['not a finding'])).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await expect(attempt(['gap/org-1/d1/4-4', 'gap/org-1/d1/4-4'])).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
    });
    // One bad id among good ones: none is sent.
    await expect(attempt(['gap/org-1/d1/4-4', 'gap/org-1/d1/9-9'])).rejects.toMatchObject({
      code: 'FINDING_NOT_FOUND',
    });
    expect(posts).toEqual([]);
  });
});
