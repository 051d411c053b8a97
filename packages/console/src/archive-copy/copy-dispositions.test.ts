/**
 * Destructions in an archive copy are final (copy-dispositions.ts), against the fake server of
 * copy-test-support.ts: a destruction the state file records stays when the server no longer
 * bears it out (here: its log holds the disposition entry, but no act names the certificate),
 * and serves the bucket's wraps again; the run names the bucket, its recorded proof and what the
 * server said, and changes nothing of it. Records a certificate disposed of are the same, whether
 * or not it destroyed keys: a recorded disposal the server no longer bears out is a finding, and a
 * disposed record the server serves again is named and not copied back. A destroyed bucket the
 * server leaves out of its bucket list keeps no wrap. A state file written before destructions
 * were recorded still reads, runs unchanged, and keeps the buckets it lists destroyed. `verify
 * copy` checks each recorded destruction and disposal offline. (That the first run verifying a real certificate
 * records it is test/officer-disposition.test.ts.)
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeLogEntry, encodeDispositionCertificate, type DispositionCertificate } from '@custos/core';
import { isConsoleError } from '../console-error.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bucketFile,
  COPY_STATE_FILE,
  dispositionFile,
  parseCopyState,
  recordFile,
  type CopyState,
  type RecordedDestruction,
  type RecordedDisposal,
} from './copy-files.js';
import {
  leavesDigest,
  settleDestructions,
  settleDisposals,
  unsaidProblems,
  type DispositionProblem,
  type Disposals,
} from './copy-dispositions.js';
import { DEV_A, DEV_B, KEPT, ORG, SHORT, startFakeOrg, type FakeOrg } from './copy-test-support.js';
import { takeArchiveCopy } from './take-copy.js';
import { verifyArchiveCopy } from './verify-copy.js';

type State = Record<string, unknown>;

describe('destructions in an archive copy', () => {
  let org: FakeOrg;
  let root: string;
  let out: string;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'custos-copy-destroyed-'));
    out = join(root, 'copy');
    org = await startFakeOrg();
    // Records in KEPT only: SHORT is the bucket whose keys were destroyed.
    org.addRecords(DEV_A, 30, KEPT);
  });
  afterEach(async () => {
    await org.close();
    rmSync(root, { recursive: true, force: true });
  });

  const stateFile = () => join(out, COPY_STATE_FILE);
  const readState = (): State => JSON.parse(readFileSync(stateFile(), 'utf8')) as State;
  const writeState = (s: State) => writeFileSync(stateFile(), JSON.stringify(s));
  /** The copy's SHORT keys file with its wraps dropped, as the run that verified its destruction left it. */
  const dropShortWraps = (): string => {
    const f = bucketFile(out, SHORT);
    const j = JSON.parse(readFileSync(f, 'utf8')) as State;
    const text = `${JSON.stringify({ ...j, wraps: {} }, null, 1)}\n`;
    writeFileSync(f, text);
    return text;
  };
  /** The log index of SHORT's disposition entry. */
  const dispositionIndex = (): number =>
    org.entries.findIndex((e) => decodeLogEntry(e).type === 'disposition');
  const EXECUTED_AT = Date.UTC(2026, 5, 1);
  /** The plan of every certificate here: its id is the hex of the certificate's plan hash. */
  const PLAN_ID = '04'.repeat(32);
  /** A certificate of SHORT (its approvals are not checked offline, nor here). */
  const certificateOf = (bucket: Omit<DispositionCertificate['buckets'][number], 'bucketId'>) =>
    encodeDispositionCertificate({
      orgId: ORG,
      planHash: Buffer.from(PLAN_ID, 'hex'),
      executedAt: EXECUTED_AT,
      approvals: [],
      buckets: [{ bucketId: SHORT, ...bucket }],
    });
  const hashOf = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
  /** A certificate destroying SHORT's keys, with no records. */
  const certificate = certificateOf({ records: 0, held: 0, keysDestroyed: true });
  const certificateHash = hashOf(certificate);
  /** SHORT's records, by log index. */
  const shortLeaves = (): number[] => org.records.filter((r) => r.bucket === SHORT).map((r) => r.logIndex);
  /**
   * What the run that verified a disposition of SHORT leaves in the copy (the fake cannot serve a
   * certificate a quorum approved, so it is written as that run writes it): the certificate; the
   * records it disposed of (`leaves`, default every record of SHORT) out of the copy and listed
   * disposed, with the certificate's record; when it destroyed SHORT's keys, the bucket's keys
   * file without wraps and the destruction's record. Answers the records and the keys file.
   */
  const recordShortDisposed = (
    cert: Uint8Array,
    options: { keysDestroyed: boolean; leaves?: number[]; dropWraps?: boolean },
  ): { destruction: RecordedDestruction; disposal: RecordedDisposal; shortFile: string } => {
    const hash = hashOf(cert);
    const leaves = options.leaves ?? shortLeaves();
    const logIndex = dispositionIndex();
    const recordedAt = '2026-06-02T03:00:00.000Z';
    const destruction: RecordedDestruction = {
      bucketId: SHORT,
      certificateHash: hash,
      planId: PLAN_ID,
      logIndex,
      executedAt: EXECUTED_AT,
      recordedAt,
    };
    const disposal: RecordedDisposal = {
      certificateHash: hash,
      planId: PLAN_ID,
      logIndex,
      records: leaves.length,
      leavesDigest: leavesDigest(leaves),
      recordedAt,
    };
    mkdirSync(join(out, 'dispositions'), { recursive: true });
    writeFileSync(
      dispositionFile(out, hash),
      JSON.stringify({
        format: 'custos-copy-disposition',
        certificateHash: hash,
        planId: PLAN_ID,
        approvers: [0, 1],
        certificate: Buffer.from(cert).toString('base64url'),
      }),
    );
    const st = readState() as State & {
      missing: { logIndex: number }[];
      counts: { records: number; recordBytes: number };
    };
    let records = 0;
    let bytes = 0;
    for (const r of org.records.filter((x) => leaves.includes(x.logIndex))) {
      const f = recordFile(out, hashOf(r.bytes));
      try {
        unlinkSync(f);
        records++;
        bytes += r.bytes.length;
      } catch {
        // Never copied (the server no longer served it): nothing to delete.
      }
    }
    const shortFile =
      (options.dropWraps ?? options.keysDestroyed)
        ? dropShortWraps()
        : readFileSync(bucketFile(out, SHORT), 'utf8');
    writeState({
      ...st,
      missing: st.missing.filter((m) => !leaves.includes(m.logIndex)),
      disposedLeaves: leaves,
      disposals: leaves.length > 0 ? [disposal] : [],
      counts: {
        ...st.counts,
        records: st.counts.records - records,
        recordBytes: st.counts.recordBytes - bytes,
      },
      ...(options.keysDestroyed ? { disposedBuckets: [SHORT], destructions: [destruction] } : {}),
    });
    return { destruction, disposal, shortFile };
  };
  /** What the run that verified SHORT's destruction leaves in the copy (recordShortDisposed). */
  const recordShortDestroyed = (): { recorded: RecordedDestruction; shortFile: string } => {
    const { destruction, shortFile } = recordShortDisposed(certificate, { keysDestroyed: true });
    return { recorded: destruction, shortFile };
  };
  /** The server serves SHORT's wraps again (its dispose() withdrew them). */
  const serveShortWrapsAgain = () => org.wraps.set(SHORT, new Map([['0', new Uint8Array(80).fill(66)]]));

  it('keeps a recorded destruction when the server no longer bears it out: names the bucket, its proof and what the server said, and changes nothing of it', async () => {
    org.addRecords(DEV_B, 4, SHORT);
    const destroying = certificateOf({ records: 4, held: 0, keysDestroyed: true });
    org.dispose(SHORT, destroying);
    await takeArchiveCopy(org.session(), out);
    // Run 1 verified the destruction of SHORT and the disposal of its 4 records.
    const {
      destruction: recorded,
      disposal,
      shortFile,
    } = recordShortDisposed(destroying, { keysDestroyed: true });
    expect(verifyArchiveCopy(out)).toMatchObject({
      recordsDisposed: 4,
      disposals: 1,
      bucketsDestroyed: 1,
      complete: true,
    });
    const before = readState();
    expect(before.disposedLeaves).toEqual(shortLeaves());
    expect(shortLeaves()).toHaveLength(4);

    // Run 2: the server lists no act naming the certificate, and serves SHORT's wraps again.
    serveShortWrapsAgain();
    const r = await takeArchiveCopy(org.session(), out);
    expect(r.destructionFindings).toEqual([
      {
        bucketId: SHORT,
        recorded,
        server: `the disposition at log index ${recorded.logIndex} does not verify: no disposition.execute act of the verified log names this certificate`,
      },
    ]);
    // Its records too, once, as the disposal's finding.
    expect(r.disposalFindings).toEqual([
      { recorded: disposal, records: 4, server: r.destructionFindings[0]!.server },
    ]);
    // Said once, as the findings, not again as an unverified disposition.
    expect(r.dispositionProblems).toEqual([]);
    expect(r.dispositionProblemsActedOn).toEqual([]);
    expect(r).toMatchObject({
      destructions: [recorded],
      disposals: [disposal],
      bucketsDisposed: [],
      records: 30,
      recordsDisposed: 4,
      missingTotal: 0,
    });
    expect(readFileSync(bucketFile(out, SHORT), 'utf8')).toBe(shortFile);
    const after = readState();
    for (const field of ['disposedBuckets', 'destructions', 'disposedLeaves', 'disposals'])
      expect(after[field], field).toEqual(before[field]);
    expect(verifyArchiveCopy(out)).toMatchObject({
      records: 30,
      recordsDisposed: 4,
      bucketsDestroyed: 1,
      complete: true,
    });

    // And on every later run while the server says so, with the log grown meanwhile.
    org.addRecords(DEV_A, 5, KEPT);
    const again = await takeArchiveCopy(org.session(), out);
    expect(again).toMatchObject({ recordsAdded: 5, destructions: [recorded] });
    expect(again.destructionFindings.map((f) => f.bucketId)).toEqual([SHORT]);
    expect(again.disposalFindings.map((f) => f.recorded)).toEqual([disposal]);
    expect(readFileSync(bucketFile(out, SHORT), 'utf8')).toBe(shortFile);
  });

  it('keeps a recorded disposal of records whose keys were not destroyed (a hold kept one) when the server no longer bears it out: names the certificate and what the server said', async () => {
    org.addRecords(DEV_B, 5, SHORT);
    await takeArchiveCopy(org.session(), out);
    const [heldLeaf, ...disposed] = shortLeaves();
    // The disposition disposed of 4 records; a hold kept the first, so SHORT's keys stay.
    const keeping = certificateOf({ records: 4, held: 1, keysDestroyed: false });
    const wraps = org.wraps.get(SHORT)!;
    org.dispose(SHORT, keeping);
    org.unserved.delete(heldLeaf!);
    org.wraps.set(SHORT, wraps);
    // The copy takes the disposition's entry (which does not verify here: nothing is disposed of).
    expect(await takeArchiveCopy(org.session(), out)).toMatchObject({ records: 35, missingTotal: 0 });
    const { disposal } = recordShortDisposed(keeping, { keysDestroyed: false, leaves: disposed });
    expect(verifyArchiveCopy(out)).toMatchObject({
      records: 31,
      recordsDisposed: 4,
      disposals: 1,
      complete: true,
    });
    const before = readState();
    // Offline, verify copy checks the recorded disposal against its entry and certificate.
    const withDisposal = (d: Partial<RecordedDisposal>, leaves = before.disposedLeaves) =>
      writeState({ ...before, disposedLeaves: leaves, disposals: [{ ...disposal, ...d }] });
    withDisposal({ planId: 'ab'.repeat(32) });
    expect(() => verifyArchiveCopy(out)).toThrow(/the certificate is of plan 0404.*, not plan abab/);
    withDisposal({ records: 5, leavesDigest: leavesDigest(shortLeaves()) }, shortLeaves());
    expect(() => verifyArchiveCopy(out)).toThrow(/5 record\(s\), the certificate disposed of 4/);
    withDisposal({ logIndex: disposal.logIndex - 1 });
    expect(() => verifyArchiveCopy(out)).toThrow(/log entry \d+ is not a disposition under that certificate/);
    expect(() => parseCopyState(JSON.stringify({ ...before, disposals: [disposal, disposal] }))).toThrow(
      /disposals is missing or malformed/,
    );
    writeState(before);

    // Run 2: the server lists no act naming the certificate.
    const r = await takeArchiveCopy(org.session(), out);
    const problem = `the disposition at log index ${disposal.logIndex} does not verify: no disposition.execute act of the verified log names this certificate`;
    expect(r.disposalFindings).toEqual([{ recorded: disposal, records: 4, server: problem }]);
    expect(r).toMatchObject({
      destructionFindings: [],
      dispositionProblems: [],
      dispositionProblemsActedOn: [],
      disposals: [disposal],
      records: 31,
      recordsDisposed: 4,
      missingTotal: 0,
    });
    // The records stay disposed of: not missing, not asked back; the held one stays.
    const after = readState();
    for (const field of ['disposedLeaves', 'disposals', 'missing'])
      expect(after[field], field).toEqual(before[field]);
    expect(verifyArchiveCopy(out)).toMatchObject({ records: 31, recordsDisposed: 4, complete: true });

    // A copy from before disposals were recorded: the same records, no certificate to name.
    const { disposals: _recorded, ...older } = readState();
    writeState(older);
    const legacy = await takeArchiveCopy(org.session(), out);
    expect(legacy.disposalFindings).toEqual([{ recorded: null, records: 4, server: problem }]);
    expect(legacy.dispositionProblems).toEqual([]);
  });

  it('names a disposed record the server serves again, and does not copy it back', async () => {
    // SHORT's records follow KEPT's on device A; the last KEPT one is not served on run 1.
    org.addRecords(DEV_A, 3, SHORT);
    const lastKept = org.records.find((r) => r.device === DEV_A && r.seq === 29)!.logIndex;
    org.unserved.add(lastKept);
    expect((await takeArchiveCopy(org.session(), out)).missingTotal).toBe(1);
    const disposing = certificateOf({ records: 3, held: 0, keysDestroyed: false });
    org.dispose(SHORT, disposing);
    recordShortDisposed(disposing, { keysDestroyed: false });
    const [, again] = shortLeaves();
    const againRecord = org.records.find((r) => r.logIndex === again)!;

    // Run 2 asks device A again from the missing record: the server serves a disposed one too.
    org.unserved.delete(lastKept);
    org.unserved.delete(again!);
    const r = await takeArchiveCopy(org.session(), out);
    expect(r).toMatchObject({
      missingTotal: 0,
      servedAgain: [{ logIndex: again, device: DEV_A, seq: againRecord.seq }],
      servedAgainTotal: 1,
    });
    expect(existsSync(recordFile(out, hashOf(againRecord.bytes)))).toBe(false);
    expect(readState().disposedLeaves).toEqual(shortLeaves());
    expect(verifyArchiveCopy(out)).toMatchObject({ recordsDisposed: 3, complete: true });
  });

  it('drops the wraps of a bucket the copy holds destroyed even when the server leaves it out of its bucket list', async () => {
    await takeArchiveCopy(org.session(), out);
    expect(JSON.parse(readFileSync(bucketFile(out, SHORT), 'utf8'))).toMatchObject({
      wraps: { '0': expect.any(String) },
    });
    org.dispose(SHORT, certificate);
    // The run that verified SHORT's destruction had no SHORT in the server's bucket list: its
    // keys file kept its wraps.
    const { destruction: recorded } = recordShortDisposed(certificate, {
      keysDestroyed: true,
      dropWraps: false,
    });
    org.unlisted.add(SHORT);
    const r = await takeArchiveCopy(org.session(), out);
    expect(r.destructions).toEqual([recorded]);
    expect(JSON.parse(readFileSync(bucketFile(out, SHORT), 'utf8'))).toMatchObject({ wraps: {} });
    expect(JSON.parse(readFileSync(bucketFile(out, SHORT), 'utf8'))).not.toHaveProperty('otherWraps');
    expect(verifyArchiveCopy(out)).toMatchObject({ bucketsDestroyed: 1, complete: true });
  });

  it('says the problem of a disposition an earlier run acted on apart from those it never acted on', () => {
    const problem = (certificateHash: string, text: string) => ({
      certificateHash,
      bucketId: 'b',
      buckets: ['a', 'b'],
      text,
    });
    const disposals: Disposals = {
      keysDestroyed: new Map(),
      recordsDisposed: new Map(),
      leaves: new Set(),
      problems: [problem('c1', 'bucket b of c1'), problem('c2', 'bucket b of c2')],
    };
    const recorded = {
      certificateHash: 'c1',
      planId: PLAN_ID,
      logIndex: 3,
      records: 2,
      leavesDigest: leavesDigest([1, 2]),
      recordedAt: '2026-06-02T03:00:00.000Z',
    };
    const none = {
      destroyed: new Set<string>(),
      unconfirmed: new Set<string>(),
      records: [],
      findings: [],
      said: new Set<DispositionProblem>(),
    };
    expect(
      unsaidProblems(disposals, none, {
        leaves: new Set([1, 2]),
        records: [recorded],
        findings: [],
        said: new Set(),
      }),
    ).toEqual({ notActedOn: ['bucket b of c2'], actedOn: ['bucket b of c1'] });
  });

  it('leaves out of UNVERIFIED the problems a finding states, by which problem it states, not by its words', () => {
    // Two certificates' problems that read alike: the recorded destruction's finding states c1's,
    // and c2's, which no finding states, is still printed (matching the finding's text would hide it).
    const words = 'the disposition at log index 7, bucket b: the server serves another certificate';
    const stated: DispositionProblem = { certificateHash: 'c1', bucketId: 'b', buckets: ['b'], text: words };
    const alike: DispositionProblem = { certificateHash: 'c2', bucketId: 'x', buckets: ['x'], text: words };
    const disposals: Disposals = {
      keysDestroyed: new Map(),
      recordsDisposed: new Map(),
      leaves: new Set(),
      problems: [stated, alike],
    };
    const recorded: RecordedDestruction = {
      bucketId: 'b',
      certificateHash: 'c1',
      planId: PLAN_ID,
      logIndex: 7,
      executedAt: Date.UTC(2026, 5, 1),
      recordedAt: '2026-06-02T03:00:00.000Z',
    };
    const prev = {
      disposedBuckets: ['b'],
      destructions: [recorded],
      disposedLeaves: [],
      disposals: [],
    } as unknown as CopyState;
    const destructions = settleDestructions(prev, disposals, 'now');
    const settled = settleDisposals(prev, disposals, 'now');
    expect(destructions.findings).toEqual([{ bucketId: 'b', recorded, server: words }]);
    expect(settled.findings).toEqual([]);
    expect(unsaidProblems(disposals, destructions, settled)).toEqual({ notActedOn: [words], actedOn: [] });
  });

  it('a normal second run changes no destruction and reports none', async () => {
    const first = await takeArchiveCopy(org.session(), out);
    expect(first).toMatchObject({ destructions: [], destructionFindings: [] });
    expect(readState().destructions).toEqual([]);
    org.addRecords(DEV_A, 3, KEPT);
    const second = await takeArchiveCopy(org.session(), out);
    expect(second).toMatchObject({ recordsAdded: 3, destructions: [], destructionFindings: [] });
    expect(readState()).toMatchObject({ disposedBuckets: [], destructions: [] });
  });

  it('reads a state file from before destructions were recorded: it runs as before, and a bucket it lists destroyed stays destroyed', async () => {
    await takeArchiveCopy(org.session(), out);
    const { destructions: _new, ...old } = readState();
    writeState(old);
    expect(parseCopyState(JSON.stringify(old)).destructions).toEqual([]);
    org.addRecords(DEV_A, 2, KEPT);
    expect(await takeArchiveCopy(org.session(), out)).toMatchObject({
      outcome: 'extended',
      recordsAdded: 2,
      destructionFindings: [],
    });
    expect(readState().destructions).toEqual([]);

    // An older copy that dropped SHORT's wraps on a verified certificate listed only the bucket.
    org.dispose(SHORT);
    await takeArchiveCopy(org.session(), out);
    const shortFile = dropShortWraps();
    const { destructions: _none, ...older } = readState();
    writeState({ ...older, disposedBuckets: [SHORT] });
    serveShortWrapsAgain();
    const r = await takeArchiveCopy(org.session(), out);
    expect(r.destructionFindings).toEqual([
      {
        bucketId: SHORT,
        recorded: null,
        server: `the disposition at log index ${dispositionIndex()} does not verify: no disposition.execute act of the verified log names this certificate`,
      },
    ]);
    expect(readFileSync(bucketFile(out, SHORT), 'utf8')).toBe(shortFile);
    expect(readState()).toMatchObject({ disposedBuckets: [SHORT], destructions: [] });
  });

  it('refuses a state whose destructions are malformed or name a bucket it does not hold destroyed', async () => {
    await takeArchiveCopy(org.session(), out);
    const st = readState();
    const d = {
      bucketId: SHORT,
      certificateHash: '09'.repeat(32),
      planId: 'ab'.repeat(32),
      logIndex: 3,
      executedAt: 1,
      recordedAt: '2026-06-02T03:00:00.000Z',
    };
    const parse = (s: State) => () => parseCopyState(JSON.stringify(s));
    expect(parse({ ...st, disposedBuckets: [SHORT], destructions: [d] })()).toMatchObject({
      destructions: [d],
    });
    expect(parse({ ...st, destructions: [d] })).toThrow(/destructions is missing or malformed/);
    expect(parse({ ...st, disposedBuckets: [SHORT], destructions: [{ ...d, logIndex: -1 }] })).toThrow(
      /destructions/,
    );
    expect(parse({ ...st, disposedBuckets: [SHORT], destructions: [d, d] })).toThrow(/destructions/);
    expect(parse({ ...st, destructions: 'none' })).toThrow(/destructions/);
  });

  it('verify copy checks each recorded destruction offline: its certificate, its log entry, no wrap left', async () => {
    org.dispose(SHORT, certificate);
    await takeArchiveCopy(org.session(), out);
    const { recorded } = recordShortDestroyed();
    expect(verifyArchiveCopy(out)).toMatchObject({ bucketsDestroyed: 1, complete: true });
    const failure = (): string => {
      const e: unknown = (() => {
        try {
          return verifyArchiveCopy(out);
        } catch (x) {
          return x;
        }
      })();
      expect(isConsoleError(e, 'COPY_INVALID'), String(e)).toBe(true);
      return (e as Error).message;
    };
    const state = readState();

    writeState({ ...state, destructions: [{ ...recorded, logIndex: recorded.logIndex - 1 }] });
    expect(failure()).toMatch(
      new RegExp(
        `^custos-copy\\.json: the destruction of bucket ${SHORT} it records: log entry ${recorded.logIndex - 1} is not`,
      ),
    );
    writeState({ ...state, destructions: [{ ...recorded, planId: 'ab'.repeat(32) }] });
    expect(failure()).toMatch(
      new RegExp(
        `^custos-copy\\.json: the destruction of bucket ${SHORT} it records: certificate ${certificateHash} is of plan ${PLAN_ID}, not plan ${'ab'.repeat(32)}`,
      ),
    );
    writeState({ ...state, destructions: [{ ...recorded, executedAt: EXECUTED_AT + 1 }] });
    expect(failure()).toMatch(
      new RegExp(`^dispositions/${certificateHash}\\.json: does not say bucket ${SHORT}'s keys`),
    );
    writeState(state);

    const f = bucketFile(out, SHORT);
    const keys = readFileSync(f, 'utf8');
    writeFileSync(f, JSON.stringify({ ...(JSON.parse(keys) as State), wraps: { root: 'AAAA' } }));
    expect(failure()).toMatch(/holds wrapped keys of a bucket whose destruction the copy recorded/);
    writeFileSync(f, keys);

    unlinkSync(dispositionFile(out, certificateHash));
    expect(failure()).toMatch(/^dispositions\/[0-9a-f]{64}\.json: missing/);
  });
});
