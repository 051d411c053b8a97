/**
 * A revoked device's finding is its revocation (docs/officers.md, "Completeness and alerts"):
 * its id stays the same across --since and as receipts pass the grace period, while the count of
 * unarchived receipts is what an officer's signed acknowledgement records. An acknowledgement
 * covers the same count or fewer, never more, a record handed in or a run declared after it;
 * beyond it the finding fails again, saying what was not accepted. Acknowledgements of the ids
 * from before (`revoked/ORG/DEVICE/N-FROM-TO|N-none[-gapsI.J]`) still count for what they named;
 * a statement whose state cannot be read covers nothing. Real signatures and log entries, with a
 * stand-in server that serves what it is told.
 */
import { decodeFindingAcknowledgement, encodeDeterministicCbor, type LogEntry } from '@custos/core';
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeOfficerPublicKey, generateOfficerKeys, type OfficerKeys } from '../officer-keys.js';
import type { OfficerSession } from '../officer-session.js';
import { servedAcknowledgement } from './acknowledgement-test-support.js';
import { keyFingerprint, SigningKey } from '../signing-key.js';
import { analyseCompleteness, devicesInLog, type CompletenessInput } from './completeness-findings.js';
import { acknowledgeFindings } from './acknowledge-findings.js';
import { applyAcknowledgements, readAcknowledgements } from './finding-acknowledgements.js';
import { findingId, type IdentifiedFinding } from './finding-ids.js';
import {
  beyondAccepted,
  formatRevokedState,
  parseLegacyRevokedId,
  parseRevokedState,
  revokedState,
} from './revoked-acknowledgements.js';
import type { IndexedEntry, VerifiedLog } from './verified-log.js';

const ORG = 'org-1';
const OFFICER_DEVICE = 'officer-dev';
const HOUR = 3_600_000;
const T = 1_000 * HOUR;
const h = (n: number): Uint8Array => new Uint8Array(32).fill(n);

const key = (kind: 'device-enrolled' | 'device-revoked', subject: string, time: number): LogEntry => ({
  type: 'key-event',
  kind,
  subject,
  hash: h(0),
  size: 1,
  actor: 'admin',
  time,
});
const record = (device: string, seq: number, time: number): LogEntry => ({
  type: 'archive-record',
  org: ORG as never,
  device: device as never,
  seq,
  bucket: 'b' as never,
  hash: h(seq),
  size: 10,
  actor: device,
  time,
});
const receipt = (n: number, time: number): LogEntry => ({
  type: 'relay-receipt',
  sender: 'A' as never,
  recipient: 'B' as never,
  hash: h(n),
  size: 10,
  actor: 'A',
  time,
});
const declared = (from: number, to: number, time: number): LogEntry => ({
  type: 'archive-gap',
  org: ORG as never,
  device: 'B' as never,
  seq: from,
  end: to,
  reason: 'device-lost',
  hash: h(99),
  size: 150,
  actor: 'B',
  time,
});

/**
 * B archived record 0, received envelopes 60, 61 and 62 (at T+1h, T+2h, T+3h) that it never
 * archived, and was revoked at T+4h by the admin (log index 6). A archived all three.
 */
const base: LogEntry[] = [
  key('device-enrolled', 'A', T),
  key('device-enrolled', 'B', T),
  record('B', 0, T),
  receipt(60, T + HOUR),
  receipt(61, T + 2 * HOUR),
  receipt(62, T + 3 * HOUR),
  key('device-revoked', 'B', T + 4 * HOUR),
];
const REVOKED_ID = `revoked/${ORG}/B/6`;

const indexed = (es: readonly LogEntry[]): IndexedEntry[] => es.map((entry, index) => ({ index, entry }));
const logOf = (es: readonly LogEntry[]): VerifiedLog =>
  ({ entries: indexed(es), treeSize: es.length }) as unknown as VerifiedLog;

/** The findings of `es` checked at `now` from `since`, each with its id (grace 1 hour). */
function findingsAt(es: readonly LogEntry[], now: number, since = 0): IdentifiedFinding[] {
  const input: CompletenessInput = {
    orgId: ORG,
    entries: indexed(es),
    served: new Map([
      [
        'A',
        {
          fromSeq: 0,
          seqs: new Set<number>(),
          envelopeHashes: new Set([60, 61, 62].map((n) => Buffer.from(h(n)).toString('hex'))),
          incomplete: false,
        },
      ],
      ['B', { fromSeq: 0, seqs: new Set([0, 1, 2]), envelopeHashes: new Set<string>(), incomplete: false }],
    ]),
    serverGaps: [],
    invalid: [],
    policy: { silentAfterMs: 1_000 * HOUR, receiptGraceMs: HOUR },
    now,
    since,
  };
  const devices = devicesInLog(ORG, input.entries);
  return analyseCompleteness(input).map((f) => ({ ...f, id: findingId(ORG, f, devices) }));
}
const revokedOf = (fs: IdentifiedFinding[]) => fs.filter((f) => f.kind === 'revoked-device');

describe("a revoked device's finding and its acknowledgements", () => {
  let officer: OfficerKeys;
  let serving: unknown[] = [];
  let posts: { path: string; body: { statement: string } }[] = [];
  let session: OfficerSession;

  beforeAll(async () => {
    officer = await generateOfficerKeys(0, SigningKey.generate());
    const orgKey = SigningKey.generate();
    session = {
      orgId: ORG,
      officerIndex: 0,
      officer: {
        keys: officer,
        org: {
          orgId: ORG,
          signingPublicKey: Buffer.from(orgKey.publicKey).toString('base64url'),
          signingKeyFingerprint: keyFingerprint(orgKey.publicKey),
          officerQuorum: 1,
          officers: [
            { index: 0, publicKey: Buffer.from(encodeOfficerPublicKey(officer)).toString('base64url') },
          ],
        },
      },
      call: async (method: string, path: string, body?: unknown) => {
        if (method === 'POST') {
          posts.push({ path, body: body as { statement: string } });
          return {};
        }
        if (path.includes('/completeness/acknowledgements')) return { acknowledgements: serving, next: null };
        // Anything else (the log read that waits for the act) is not served here.
        throw new Error(`not served: ${method} ${path}`);
      },
    } as unknown as OfficerSession;
  });

  /**
   * An acknowledgement of `id` signed by the officer, with `state`, served and logged at log
   * index `index`. Built by hand: a server serves what it likes, including statements core
   * refuses to encode (a state on a finding that has none, or none on a revoked device's).
   */
  function acknowledgement(id: string, index: number, state?: string) {
    const statement = encodeDeterministicCbor({
      v: state === undefined ? 1 : 2,
      typ: 'finding-acknowledgement',
      org: ORG,
      fnd: id,
      why: 'Lost phone (incident 120).',
      off: 0,
      at: 5,
      ...(state === undefined ? {} : { saw: state }),
    });
    return servedAcknowledgement({
      org: ORG,
      deviceId: OFFICER_DEVICE,
      findingId: id,
      statement,
      signer: officer.signingKey,
      at: 10_000 + index,
    });
  }

  /** The findings of `es` at `now` from `since`, with the acknowledgements `acks` served and logged after `es`. */
  async function checked(
    es: readonly LogEntry[],
    acks: { id: string; state?: string }[],
    now: number,
    since = 0,
  ) {
    const made = acks.map((a, i) => acknowledgement(a.id, es.length + i, a.state));
    serving = made.map((m) => m.served);
    const log = [...es, ...made.map((m) => m.entry)];
    const read = await readAcknowledgements(session, logOf(log));
    return { ...applyAcknowledgements(findingsAt(log, now, since), read.verified), problems: read.problems };
  }

  it('keeps one id for the revocation across --since and the grace period; the count is its state', () => {
    // Late: all three receipts are past the grace. With --since, fewer. Early (T+3.5h), 62 is
    // still within its hour of grace.
    const late = revokedOf(findingsAt(base, T + 10 * HOUR));
    const sinceTwo = revokedOf(findingsAt(base, T + 10 * HOUR, T + 2 * HOUR));
    const early = revokedOf(findingsAt(base, T + 3.5 * HOUR));
    expect(
      [late, sinceTwo, early].map((fs) =>
        fs.map((f) => [f.id, f.kind === 'revoked-device' && f.unarchivedReceipts]),
      ),
    ).toEqual([[[REVOKED_ID, 3]], [[REVOKED_ID, 2]], [[REVOKED_ID, 2]]]);
    // What it hands in and declares later is its state too, not its id.
    const later = [...base, record('B', 1, T + 5 * HOUR), declared(2, 4, T + 6 * HOUR)];
    expect(revokedOf(findingsAt(later, T + 10 * HOUR)).map((f) => f.id)).toEqual([REVOKED_ID]);
  });

  it('writes and reads one text per state, and reads the ids from before states', () => {
    const state = { unarchivedReceipts: 3, handedIn: { from: 1, to: 2, count: 2 }, declaredAfter: [9, 11] };
    // The declarations are signed as their count and the SHA-256 of `9.11`.
    const nineEleven = createHash('sha256').update('9.11').digest('hex');
    const text = `unarchived=3,handed-in=1-2:2,gaps=2:${nineEleven}`;
    expect(formatRevokedState(state)).toBe(text);
    expect(parseRevokedState(text)).toEqual({
      unarchivedReceipts: 3,
      handedIn: { from: 1, to: 2, count: 2 },
      declaredAfter: null,
      declarationsDigest: { count: 2, sha256: nineEleven },
    });
    expect(formatRevokedState(parseRevokedState(text)!)).toBe(text);
    expect(beyondAccepted(parseRevokedState(text)!, state)).toEqual([]);
    expect(beyondAccepted(parseRevokedState(text)!, { ...state, declaredAfter: [9, 12] })).toEqual([
      '2 gap declaration(s) after the revocation (at log 9, 12), not the 2 acknowledged',
    ]);
    // Statements signed with the list before still read, for that list.
    expect(parseRevokedState('unarchived=3,handed-in=1-2:2,gaps=9.11')).toEqual(state);
    expect(parseRevokedState('unarchived=0,handed-in=none,gaps=none')).toEqual({
      unarchivedReceipts: 0,
      handedIn: null,
      declaredAfter: [],
    });
    for (const bad of [
      'unarchived=03,handed-in=none,gaps=none',
      'unarchived=1,handed-in=5-2:1,gaps=none',
      'unarchived=1',
      'unarchived=1,handed-in=1-2:0,gaps=none',
      // More records than the range holds; a list out of order or repeated (the same state
      // written another way, which would acknowledge it twice); a digest of no declarations.
      'unarchived=1,handed-in=1-2:3,gaps=none',
      'unarchived=1,handed-in=none,gaps=11.9',
      'unarchived=1,handed-in=none,gaps=9.9',
      `unarchived=1,handed-in=none,gaps=0:${nineEleven}`,
      `unarchived=1,handed-in=none,gaps=2:${nineEleven.toUpperCase()}`,
    ])
      expect(parseRevokedState(bad)).toBeNull();
    expect(parseLegacyRevokedId('revoked/org-1/B/3-none')).toEqual({
      orgId: ORG,
      deviceId: 'B',
      state: { unarchivedReceipts: 3, handedIn: null, declaredAfter: [] },
    });
    expect(parseLegacyRevokedId('revoked/org-1/B/0-4-6-gaps12.15')).toEqual({
      orgId: ORG,
      deviceId: 'B',
      state: { unarchivedReceipts: 0, handedIn: { from: 4, to: 6, count: null }, declaredAfter: [12, 15] },
    });
    expect(parseLegacyRevokedId(REVOKED_ID)).toBeNull();
    // An id from before names a range, not a count: it accepts what that range held, as the old id did.
    expect(
      beyondAccepted(
        { unarchivedReceipts: 0, handedIn: { from: 4, to: 6, count: null }, declaredAfter: [] },
        {
          unarchivedReceipts: 0,
          handedIn: { from: 4, to: 7, count: 4 },
          declaredAfter: [],
        },
      ),
    ).toEqual(['handed in 4 record(s) (sequence 4–7), acknowledged sequence 4–6']);
    // Handed-in records and declarations are compared for equality: a statement signed with a
    // wider range than the log holds (no console writes one) covers no later hand-in.
    const wide = { unarchivedReceipts: 0, handedIn: { from: 1, to: 99, count: 99 }, declaredAfter: [5, 6] };
    expect(
      beyondAccepted(wide, {
        unarchivedReceipts: 0,
        handedIn: { from: 1, to: 2, count: 2 },
        declaredAfter: [5],
      }),
    ).toEqual([
      'handed in 2 record(s) (sequence 1–2), acknowledged 99 record(s) (sequence 1–99)',
      'acknowledged gap declaration(s) at log 6, which the log does not hold after the revocation',
    ]);
    expect(beyondAccepted(wide, { unarchivedReceipts: 0, handedIn: null, declaredAfter: [5, 6] })).toEqual([
      'handed in none, acknowledged 99 record(s) (sequence 1–99)',
    ]);
  });

  it('covers the count accepted and fewer, and reports more as not covered, naming the acknowledgement', async () => {
    const accepted = 'unarchived=2,handed-in=none,gaps=none';
    // Accepted at 2 (a check with --since): covers 2 (--since again) and the early check's 2.
    for (const [now, since] of [
      [T + 10 * HOUR, T + 2 * HOUR],
      [T + 3.5 * HOUR, 0],
    ] as const) {
      const r = await checked(base, [{ id: REVOKED_ID, state: accepted }], now, since);
      expect(r.problems).toEqual([]);
      expect(revokedOf(r.findings)).toEqual([]);
      expect(r.acknowledged.map((f) => [f.id, f.acknowledgement.accepted])).toEqual([
        [REVOKED_ID, { unarchivedReceipts: 2, handedIn: null, declaredAfter: [] }],
      ]);
    }
    // A full check later sees all 3: the same finding, not covered, saying by how much and by whom.
    const r = await checked(base, [{ id: REVOKED_ID, state: accepted }], T + 10 * HOUR);
    expect(r.acknowledged).toEqual([]);
    const [open] = revokedOf(r.findings);
    expect(open?.id).toBe(REVOKED_ID);
    expect(r.findings.find((f) => f.id === REVOKED_ID)?.exceedsAcknowledgement).toEqual({
      acknowledgement: expect.objectContaining({
        findingId: REVOKED_ID,
        officerIndex: 0,
        logIndex: base.length,
      }),
      beyond: '3 unarchived receipt(s), 2 acknowledged',
    });
    // Acknowledged again at 3 (a second statement, a second act): covered, by the newer one.
    const again = await checked(
      base,
      [
        { id: REVOKED_ID, state: accepted },
        { id: REVOKED_ID, state: 'unarchived=3,handed-in=none,gaps=none' },
      ],
      T + 10 * HOUR,
    );
    expect(again.acknowledged.map((f) => [f.id, f.acknowledgement.logIndex])).toEqual([
      [REVOKED_ID, base.length + 1],
    ]);
    // Accepted at 3, it covers fewer: a check with --since sees 2.
    const fewer = await checked(
      base,
      [{ id: REVOKED_ID, state: 'unarchived=3,handed-in=none,gaps=none' }],
      T + 10 * HOUR,
      T + 2 * HOUR,
    );
    expect(
      fewer.acknowledged.map((f) => [f.id, f.kind === 'revoked-device' && f.unarchivedReceipts]),
    ).toEqual([[REVOKED_ID, 2]]);
  });

  it('never covers records handed in or runs declared lost after what was accepted', async () => {
    const handed = [...base, record('B', 1, T + 5 * HOUR), record('B', 2, T + 5 * HOUR)];
    const one = 'unarchived=3,handed-in=1-1:1,gaps=none';
    const seen = await checked(
      [...base, record('B', 1, T + 5 * HOUR)],
      [{ id: REVOKED_ID, state: one }],
      T + 10 * HOUR,
    );
    expect(seen.acknowledged.map((f) => f.id)).toEqual([REVOKED_ID]);
    const more = await checked(handed, [{ id: REVOKED_ID, state: one }], T + 10 * HOUR);
    expect(more.findings.find((f) => f.id === REVOKED_ID)?.exceedsAcknowledgement?.beyond).toBe(
      'handed in 2 record(s) (sequence 1–2), acknowledged 1 record(s) (sequence 1)',
    );
    const lost = [...handed, declared(3, 4, T + 6 * HOUR)];
    const gapped = await checked(
      lost,
      [{ id: REVOKED_ID, state: 'unarchived=3,handed-in=1-2:2,gaps=none' }],
      T + 10 * HOUR,
    );
    expect(gapped.findings.find((f) => f.id === REVOKED_ID)?.exceedsAcknowledgement?.beyond).toBe(
      `gap declaration(s) at log ${lost.length - 1} after the revocation, not acknowledged`,
    );
  });

  it('shows the finding once when the same state was acknowledged with the list and with the digest of its declarations', async () => {
    // B handed in record 1 and declared 2–4 lost (log index 8) after its revocation. An older
    // console signed the declarations as their list, this one as their count and digest: two
    // statements of one state, which the server keeps as two rows (it keys them by the text).
    const es = [...base, record('B', 1, T + 5 * HOUR), declared(2, 4, T + 6 * HOUR)];
    const listed = 'unarchived=3,handed-in=1-1:1,gaps=8';
    const digested = `unarchived=3,handed-in=1-1:1,gaps=1:${createHash('sha256').update('8').digest('hex')}`;
    const [now] = revokedOf(findingsAt(es, T + 10 * HOUR));
    expect(formatRevokedState(parseRevokedState(listed)!)).toBe(digested);
    expect(formatRevokedState(revokedState(now!))).toBe(digested);
    const times = (fs: readonly IdentifiedFinding[]) => fs.filter((f) => f.id === REVOKED_ID).length;
    for (const order of [
      [listed, digested],
      [digested, listed],
    ]) {
      const r = await checked(
        es,
        order.map((state) => ({ id: REVOKED_ID, state })),
        T + 10 * HOUR,
      );
      expect(r.problems).toEqual([]);
      expect([times(r.findings), times(r.acknowledged)], order[0]).toEqual([0, 1]);
      // By the later of the two, as for two acknowledgements of one form.
      expect(r.acknowledged.find((f) => f.id === REVOKED_ID)?.acknowledgement.logIndex).toBe(es.length + 1);
      // And it is not acknowledged a third time: nothing is sent.
      posts = [];
      await expect(acknowledgeFindings(session, [REVOKED_ID], 'Again.', r)).rejects.toMatchObject({
        code: 'FINDING_ACKNOWLEDGED',
      });
      expect(posts).toEqual([]);
    }
    // Once the device declares another run, neither covers it: open once, naming the later one.
    const grown = [...es, declared(5, 5, T + 7 * HOUR)];
    const r = await checked(
      grown,
      [listed, digested].map((state) => ({ id: REVOKED_ID, state })),
      T + 10 * HOUR,
    );
    expect([times(r.findings), times(r.acknowledged)]).toEqual([1, 0]);
    expect(r.findings.find((f) => f.id === REVOKED_ID)?.exceedsAcknowledgement).toMatchObject({
      acknowledgement: { logIndex: grown.length + 1 },
      beyond: `2 gap declaration(s) after the revocation (at log 8, ${grown.length - 1}), not the 1 acknowledged`,
    });
  });

  it('counts an acknowledgement of an id from before states for what it named, and no more', async () => {
    // Made when the finding read `revoked/org-1/B/2-none`: 2 unarchived receipts, nothing handed in.
    const old = `revoked/${ORG}/B/2-none`;
    const covered = await checked(base, [{ id: old }], T + 10 * HOUR, T + 2 * HOUR);
    expect(covered.problems).toEqual([]);
    expect(covered.acknowledged.map((f) => [f.id, f.acknowledgement.findingId])).toEqual([[REVOKED_ID, old]]);
    const exceeded = await checked(base, [{ id: old }], T + 10 * HOUR);
    expect(exceeded.findings.find((f) => f.id === REVOKED_ID)?.exceedsAcknowledgement).toMatchObject({
      acknowledgement: { findingId: old },
      beyond: '3 unarchived receipt(s), 2 acknowledged',
    });
    // Another device's old acknowledgement covers nothing of B's.
    const other = await checked(base, [{ id: `revoked/${ORG}/C/9-none` }], T + 10 * HOUR);
    expect(other.acknowledged).toEqual([]);
    const open = other.findings.find((f) => f.id === REVOKED_ID);
    expect(open).toBeDefined();
    expect(open?.exceedsAcknowledgement).toBeUndefined();
  });

  it('counts nothing it cannot read: no state, an unreadable one, or a state on a finding that has none', async () => {
    const r = await checked(
      base,
      [
        { id: REVOKED_ID },
        { id: REVOKED_ID, state: 'unarchived=2' },
        { id: `revoked/${ORG}/B/two-none` },
        { id: `gap/${ORG}/B/1-1`, state: 'unarchived=2,handed-in=none,gaps=none' },
      ],
      T + 10 * HOUR,
    );
    expect(r.acknowledged).toEqual([]);
    expect(r.findings.find((f) => f.id === REVOKED_ID)?.exceedsAcknowledgement).toBeUndefined();
    expect(r.problems.slice(0, 4)).toEqual([
      // Core refuses to decode these two (a server that stores them anyway shows them here).
      `the acknowledgement of ${REVOKED_ID}: its statement is malformed (finding acknowledgement: the state is required for a revoked device's finding (${REVOKED_ID}))`,
      `the acknowledgement of ${REVOKED_ID}: its statement records a state this console cannot read (unarchived=2); it covers nothing`,
      `the acknowledgement of revoked/${ORG}/B/two-none: it names a revoked-device finding in no form this console knows; it covers nothing`,
      `the acknowledgement of gap/${ORG}/B/1-1: its statement is malformed (finding acknowledgement: the state is only for a revoked device's finding (revoked/ORG/DEVICE/LOG_INDEX), not gap/${ORG}/B/1-1)`,
    ]);
  });

  it('signs the state it sees when acknowledging, again when it grew, never when it is covered', async () => {
    const accepted = 'unarchived=2,handed-in=none,gaps=none';
    const grown = await checked(base, [{ id: REVOKED_ID, state: accepted }], T + 10 * HOUR);
    posts = [];
    // The stand-in serves no log: the command stops while waiting for the act, after sending.
    await expect(acknowledgeFindings(session, [REVOKED_ID], 'Three now.', grown)).rejects.toThrow(
      /not served/,
    );
    expect(posts).toHaveLength(1);
    expect(decodeFindingAcknowledgement(Buffer.from(posts[0]!.body.statement, 'base64url'))).toMatchObject({
      findingId: REVOKED_ID,
      state: 'unarchived=3,handed-in=none,gaps=none',
      reason: 'Three now.',
    });
    posts = [];
    const covered = await checked(base, [{ id: REVOKED_ID, state: accepted }], T + 10 * HOUR, T + 2 * HOUR);
    await expect(acknowledgeFindings(session, [REVOKED_ID], 'Again.', covered)).rejects.toMatchObject({
      code: 'FINDING_ACKNOWLEDGED',
      message: expect.stringContaining('accepting 2 unarchived receipt(s)'),
    });
    // An id from before states is no current finding: the message says how they are named now.
    await expect(
      acknowledgeFindings(session, [`revoked/${ORG}/B/3-none`], 'Old id.', grown),
    ).rejects.toMatchObject({
      code: 'FINDING_NOT_FOUND',
      message: expect.stringContaining('named by its revocation now'),
    });
    expect(posts).toEqual([]);
  });

  it('acknowledges a revoked device that declared 60 runs lost at 8-digit log indexes', async () => {
    const [f] = revokedOf(findingsAt(base, T + 10 * HOUR));
    const logIndexes = Array.from({ length: 60 }, (_, i) => 10_000_000 + 2 * i);
    const many = {
      ...f!,
      declaredAfter: logIndexes.map((logIndex, i) => ({
        from: 10 + i,
        to: 10 + i,
        reason: 'device-lost',
        logIndex,
        time: T + 5 * HOUR,
      })),
    } as IdentifiedFinding;
    // As a list it would not fit a statement's state.
    expect(`gaps=${logIndexes.join('.')}`.length).toBeGreaterThan(400);
    posts = [];
    await expect(
      acknowledgeFindings(session, [REVOKED_ID], 'Stolen (incident 7).', {
        findings: [many],
        acknowledged: [],
      }),
    ).rejects.toThrow(/not served/);
    expect(posts).toHaveLength(1);
    const { state } = decodeFindingAcknowledgement(Buffer.from(posts[0]!.body.statement, 'base64url'));
    const accepted = parseRevokedState(state!)!;
    expect(accepted.declarationsDigest?.count).toBe(60);
    // It covers exactly those 60, not one more or fewer.
    const now = { unarchivedReceipts: 3, handedIn: null, declaredAfter: logIndexes };
    expect(beyondAccepted(accepted, now)).toEqual([]);
    expect(beyondAccepted(accepted, { ...now, declaredAfter: [...logIndexes, 10_000_200] })).toHaveLength(1);
    expect(beyondAccepted(accepted, { ...now, declaredAfter: logIndexes.slice(1) })).toHaveLength(1);
  });

  it('sends nothing when one of several statements cannot be made', async () => {
    // A gap finding whose id is too long for a statement (over 400 characters) after one that is fine.
    const gap = (device: string) =>
      ({
        kind: 'gap',
        deviceId: device,
        from: 1,
        to: 1,
        evidence: ['declared'],
        id: `gap/${ORG}/${device}/1-1`,
      }) as unknown as IdentifiedFinding;
    const fine = gap('B');
    const long = gap('D'.repeat(400));
    posts = [];
    await expect(
      acknowledgeFindings(session, [fine.id, long.id], 'Both.', { findings: [fine, long], acknowledged: [] }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(posts).toEqual([]);
  });
});
