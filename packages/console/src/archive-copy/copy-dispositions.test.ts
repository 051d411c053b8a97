/**
 * Destructions in an archive copy are final (copy-dispositions.ts), against the fake server of
 * copy-test-support.ts: a destruction the state file records stays when the server no longer
 * bears it out (here: its log holds the disposition entry, but no act names the certificate),
 * and serves the bucket's wraps again; the run names the bucket, its recorded proof and what the
 * server said, and changes nothing of it. A state file written before destructions were
 * recorded still reads, runs unchanged, and keeps the buckets it lists destroyed. `verify copy`
 * checks each recorded destruction offline. (That the first run verifying a real certificate
 * records it is test/officer-disposition.test.ts.)
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeLogEntry, encodeDispositionCertificate } from '@custos/core';
import { isConsoleError } from '../console-error.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bucketFile,
  COPY_STATE_FILE,
  dispositionFile,
  parseCopyState,
  type RecordedDestruction,
} from './copy-files.js';
import { DEV_A, KEPT, ORG, SHORT, startFakeOrg, type FakeOrg } from './copy-test-support.js';
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
  /** A certificate destroying SHORT's keys (its approvals are not checked offline, nor here). */
  const certificate = encodeDispositionCertificate({
    orgId: ORG,
    planHash: new Uint8Array(32).fill(4),
    executedAt: EXECUTED_AT,
    approvals: [],
    buckets: [{ bucketId: SHORT, records: 0, held: 0, keysDestroyed: true }],
  });
  const certificateHash = createHash('sha256').update(certificate).digest('hex');
  /**
   * What the run that verified SHORT's destruction leaves in the copy (the fake cannot serve a
   * certificate a quorum approved, so it is written as that run writes it): the certificate, the
   * bucket's keys file without wraps, and the state's record. Answers the record and the keys file.
   */
  const recordShortDestroyed = (): { recorded: RecordedDestruction; shortFile: string } => {
    const recorded: RecordedDestruction = {
      bucketId: SHORT,
      certificateHash,
      planId: 'ab'.repeat(32),
      logIndex: dispositionIndex(),
      executedAt: EXECUTED_AT,
      recordedAt: '2026-06-02T03:00:00.000Z',
    };
    mkdirSync(join(out, 'dispositions'), { recursive: true });
    writeFileSync(
      dispositionFile(out, certificateHash),
      JSON.stringify({
        format: 'custos-copy-disposition',
        certificateHash,
        planId: recorded.planId,
        approvers: [0, 1],
        certificate: Buffer.from(certificate).toString('base64url'),
      }),
    );
    const shortFile = dropShortWraps();
    writeState({ ...readState(), disposedBuckets: [SHORT], destructions: [recorded] });
    return { recorded, shortFile };
  };
  /** The server serves SHORT's wraps again (its dispose() withdrew them). */
  const serveShortWrapsAgain = () => org.wraps.set(SHORT, new Map([['0', new Uint8Array(80).fill(66)]]));

  it('keeps a recorded destruction when the server no longer bears it out: names the bucket, its proof and what the server said, and changes nothing of it', async () => {
    org.dispose(SHORT, certificate);
    await takeArchiveCopy(org.session(), out);
    // Run 1 verified the destruction of SHORT.
    const { recorded, shortFile } = recordShortDestroyed();
    expect(verifyArchiveCopy(out)).toMatchObject({ bucketsDestroyed: 1, complete: true });
    const before = readState();

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
    // Said once, as the finding, not again as an unverified disposition.
    expect(r.dispositionProblems).toEqual([]);
    expect(r).toMatchObject({ destructions: [recorded], bucketsDisposed: [], records: 30, missingTotal: 0 });
    expect(readFileSync(bucketFile(out, SHORT), 'utf8')).toBe(shortFile);
    const after = readState();
    for (const field of ['disposedBuckets', 'destructions', 'disposedLeaves'])
      expect(after[field], field).toEqual(before[field]);
    expect(verifyArchiveCopy(out)).toMatchObject({ records: 30, bucketsDestroyed: 1, complete: true });

    // And on every later run while the server says so, with the log grown meanwhile.
    org.addRecords(DEV_A, 5, KEPT);
    const again = await takeArchiveCopy(org.session(), out);
    expect(again).toMatchObject({ recordsAdded: 5, destructions: [recorded] });
    expect(again.destructionFindings.map((f) => f.bucketId)).toEqual([SHORT]);
    expect(readFileSync(bucketFile(out, SHORT), 'utf8')).toBe(shortFile);
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
        server: 'no disposition the server serves now verifies that its keys were destroyed',
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
