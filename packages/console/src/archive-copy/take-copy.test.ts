/**
 * takeArchiveCopy against a fake server over a real signed log (copy-test-support.ts): the
 * first copy takes every entry, record and key and verifies offline; a second run fetches
 * only what is new (after a consistency proof), drops a disposed bucket's wraps and
 * records, retries a record the server did not serve; a server that forks the log, rolls it
 * back or serves a record the log does not commit to stops the run and leaves the last
 * good copy, which still verifies.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConsoleError } from '../console-error.js';
import { bucketFile, COPY_STATE_FILE, devicePageFile, parseCopyState, recordFile } from './copy-files.js';
import {
  DEV_A,
  DEV_B,
  KEPT,
  SHORT,
  startFakeOrg,
  type FakeOrg,
  type FakeRecord,
} from './copy-test-support.js';
import { profileOrgForCopy, takeArchiveCopy } from './take-copy.js';
import { verifyArchiveCopy } from './verify-copy.js';

const hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('takeArchiveCopy', () => {
  let org: FakeOrg;
  let root: string;
  let out: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'custos-copy-'));
    out = join(root, 'copy');
    org = await startFakeOrg();
    // 300 records of two devices in two buckets: two entry bundles, pages of 100.
    org.addRecords(DEV_A, 150, KEPT);
    org.addRecords(DEV_B, 100, KEPT);
    org.addRecords(DEV_B, 50, SHORT);
  });
  afterAll(async () => {
    await org.close();
    rmSync(root, { recursive: true, force: true });
  });

  const wrapsOf = (bucket: string) =>
    (JSON.parse(readFileSync(bucketFile(out, bucket), 'utf8')) as { wraps: Record<string, string> }).wraps;
  const state = () => JSON.parse(readFileSync(join(out, COPY_STATE_FILE), 'utf8')) as { treeSize: number };
  const failure = async (code: string) => {
    const e: unknown = await takeArchiveCopy(org.session(), out).catch((x: unknown) => x);
    expect(isConsoleError(e), String(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    return (e as Error).message;
  };

  it('copies every entry, record and key, and the copy verifies offline', async () => {
    const progress: string[] = [];
    const r = await takeArchiveCopy(org.session(), out, { onProgress: (p) => progress.push(p.phase) });
    expect(r).toMatchObject({
      outcome: 'first',
      previousTreeSize: null,
      treeSize: org.entries.length,
      recordsAdded: 300,
      records: 300,
      buckets: 2,
      missingTotal: 0,
    });
    expect(new Set(progress)).toEqual(new Set(['log', 'keys', 'records', 'check']));
    // The server holds no root wrap of KEPT (the ceremony's): it comes from the profile's org.json.
    expect(wrapsOf(KEPT)).toEqual({
      '0': Buffer.alloc(80, 7).toString('base64url'),
      root: Buffer.alloc(80, 8).toString('base64url'),
    });
    const first = org.records[0]!;
    expect(readFileSync(recordFile(out, hex(first.bytes)))).toEqual(Buffer.from(first.bytes));
    // A page keeps each batch signature once: device A's first page of 100 records, 10 batches.
    const pages = join(out, 'devices', DEV_A);
    const page = JSON.parse(readFileSync(join(pages, readdirSync(pages).sort()[0]!), 'utf8')) as {
      records: { seq: number; batch: number | null }[];
      batches: { firstSeq: number }[];
    };
    expect(page.records).toHaveLength(100);
    expect(page.batches.map((b) => b.firstSeq)).toEqual(Array.from({ length: 10 }, (_, i) => i * 10));
    expect(page.records[25]).toMatchObject({ seq: 25, batch: 2 });
    const v = verifyArchiveCopy(out);
    expect(v).toMatchObject({
      treeSize: org.entries.length,
      recordsLogged: 300,
      records: 300,
      recordsDisposed: 0,
      recordsMissing: 0,
      devices: 2,
      buckets: 2,
      bucketsWithWraps: 2,
      complete: true,
      logKeyGiven: false,
    });
    // Nothing the copy holds is readable without keys: no record file holds anything but the sealed bytes.
    expect(readdirSync(join(out, 'records')).length).toBeGreaterThan(0);
  });

  it('a second run fetches only what is new, after a consistency proof; unchanged, it fetches no record', async () => {
    const before = org.requests.length;
    const again = await takeArchiveCopy(org.session(), out);
    expect(again).toMatchObject({ outcome: 'unchanged', entriesAdded: 0, recordsAdded: 0, records: 300 });
    expect(org.requests.slice(before).filter((q) => q.includes('/archive/records'))).toEqual([]);

    org.addRecords(DEV_A, 20, KEPT);
    const mark = org.requests.length;
    const r = await takeArchiveCopy(org.session(), out);
    expect(r).toMatchObject({ outcome: 'extended', recordsAdded: 20, records: 320, missingTotal: 0 });
    const asked = org.requests.slice(mark);
    expect(
      asked.some((q) => q.startsWith(`/v1/orgs/${org.session().orgId}/log/proof/consistency?from=`)),
    ).toBe(true);
    // Only device A had new records, from its next sequence number; only the edge bundle was read again.
    expect(asked.filter((q) => q.includes('/archive/records'))).toEqual([
      expect.stringContaining(`device=${DEV_A}&fromSeq=150&`),
    ]);
    expect(asked.filter((q) => q.includes('/tile/entries/'))).toHaveLength(1);
    expect(verifyArchiveCopy(out)).toMatchObject({ records: 320, complete: true });
  });

  it('lists a record the server does not serve as missing, and takes it on a later run', async () => {
    org.addRecords(DEV_B, 3, KEPT);
    const lost = org.records[org.records.length - 2]!;
    org.unserved.add(lost.logIndex);
    const r = await takeArchiveCopy(org.session(), out);
    expect(r.missingTotal).toBe(1);
    expect(r.missing).toEqual([{ logIndex: lost.logIndex, device: DEV_B, seq: lost.seq }]);
    expect(verifyArchiveCopy(out)).toMatchObject({ recordsMissing: 1, complete: false });
    org.unserved.delete(lost.logIndex);
    const again = await takeArchiveCopy(org.session(), out);
    expect(again).toMatchObject({ missingTotal: 0, recordsAdded: 1 });
    expect(verifyArchiveCopy(out)).toMatchObject({ recordsMissing: 0, complete: true });
  });

  it('deletes nothing on a disposition entry that does not verify: records and wraps stay, and it says why', async () => {
    // A made-up disposition of SHORT (no certificate, no quorum), its wraps withheld and its
    // records no longer served: the copy keeps all 50 and the wraps, and verify agrees.
    org.dispose(SHORT);
    const r = await takeArchiveCopy(org.session(), out);
    expect(r).toMatchObject({ bucketsDisposed: [], recordsDisposed: 0, records: 323, missingTotal: 0 });
    expect(r.dispositionProblems).toEqual([
      expect.stringMatching(/does not verify: no disposition.execute act/),
    ]);
    const kept = org.records.find((x) => x.bucket === SHORT)!;
    expect(readFileSync(recordFile(out, hex(kept.bytes)))).toEqual(Buffer.from(kept.bytes));
    expect(Object.keys(wrapsOf(SHORT)).sort()).toEqual(['0', 'root']);
    expect(verifyArchiveCopy(out)).toMatchObject({ records: 323, recordsDisposed: 0, complete: true });

    // A record of the bucket logged after it and not served is missing, not disposed.
    org.addRecords(DEV_B, 1, SHORT);
    const lost = org.records[org.records.length - 1]!;
    org.unserved.add(lost.logIndex);
    const again = await takeArchiveCopy(org.session(), out);
    expect(again.missing).toEqual([{ logIndex: lost.logIndex, device: DEV_B, seq: lost.seq }]);
    expect(verifyArchiveCopy(out)).toMatchObject({ recordsDisposed: 0, recordsMissing: 1, complete: false });
    org.unserved.delete(lost.logIndex);
    expect(await takeArchiveCopy(org.session(), out)).toMatchObject({ missingTotal: 0, records: 324 });
  });

  it('keeps its wraps when the server drops a bucket’s wraps without a disposition in the log', async () => {
    const saved = org.wraps.get(KEPT)!;
    org.wraps.delete(KEPT);
    try {
      await takeArchiveCopy(org.session(), out);
      expect(Object.keys(wrapsOf(KEPT))).toEqual(['0', 'root']);
    } finally {
      org.wraps.set(KEPT, saved);
    }
  });

  it('never replaces a wrap it holds with another blob: the server’s garbage is kept beside it and named', async () => {
    const good = wrapsOf(KEPT);
    const saved = org.wraps.get(KEPT)!;
    const garbage = new Uint8Array(80).fill(66);
    org.wraps.set(
      KEPT,
      new Map([
        ['0', garbage],
        ['root', garbage],
      ]),
    );
    try {
      const r = await takeArchiveCopy(org.session(), out);
      expect(r.wrapConflicts).toEqual([
        { bucketId: KEPT, recipient: '0' },
        { bucketId: KEPT, recipient: 'root' },
      ]);
      expect(wrapsOf(KEPT)).toEqual(good);
      const file = JSON.parse(readFileSync(bucketFile(out, KEPT), 'utf8')) as { otherWraps: unknown };
      const g = Buffer.from(garbage).toString('base64url');
      expect(file.otherWraps).toEqual({ '0': [g], root: [g] });
      expect(verifyArchiveCopy(out).complete).toBe(true);
    } finally {
      org.wraps.set(KEPT, saved);
    }
  });

  it('refuses a rolled-back log and a forked log, the copy staying good; a record the log does not commit to is missing, with why', async () => {
    const size = state().treeSize;
    org.signedSize = size - 10;
    expect(await failure('LOG_ROLLBACK')).toMatch(/shrank/);
    org.signedSize = undefined;

    // A fork: history rewritten below the copy's size, and the log grown past it.
    const saved = org.entries[5]!;
    org.addRecords(DEV_A, 5, KEPT);
    org.entries[5] = org.entries[6]!;
    expect(await failure('LOG_FORK')).toMatch(/not an extension/);
    org.entries[5] = saved;
    expect(state().treeSize).toBe(size);
    expect(verifyArchiveCopy(out)).toMatchObject({ treeSize: size, complete: true });

    // A record whose bytes are not what its entry commits to: not copied, missing with the
    // reason; the rest of the run goes on (it stopped every run before).
    const victim = org.records[org.records.length - 1]!;
    org.swapped.set(victim.logIndex, new Uint8Array(Buffer.from('forged')));
    const r = await takeArchiveCopy(org.session(), out);
    expect(r).toMatchObject({ outcome: 'extended', recordsAdded: 4, missingTotal: 1 });
    expect(r.missing).toEqual([
      {
        logIndex: victim.logIndex,
        device: DEV_A,
        seq: victim.seq,
        reason: expect.stringMatching(/not what the log commits to/),
      },
    ]);
    expect(verifyArchiveCopy(out)).toMatchObject({ recordsMissing: 1, complete: false });
    org.swapped.clear();

    // And the next honest run completes the copy.
    expect(await takeArchiveCopy(org.session(), out)).toMatchObject({ recordsAdded: 1, missingTotal: 0 });
    expect(verifyArchiveCopy(out).complete).toBe(true);
  });

  it('a retry page that starts where an earlier page started keeps what the earlier one listed', async () => {
    // Run 1: the first of three new records is not served, so the page starts at the second.
    org.addRecords(DEV_B, 3, KEPT);
    const [first, second, third] = org.records.slice(-3) as [FakeRecord, FakeRecord, FakeRecord];
    org.unserved.add(first.logIndex);
    expect((await takeArchiveCopy(org.session(), out)).missingTotal).toBe(1);
    // Run 2 retries from the first, still not served, and the server no longer serves the third:
    // its page starts at the second again, and must not drop the third the copy holds.
    org.unserved.add(third.logIndex);
    const r = await takeArchiveCopy(org.session(), out);
    expect(r.missing).toEqual([{ logIndex: first.logIndex, device: DEV_B, seq: first.seq }]);
    const page = JSON.parse(readFileSync(devicePageFile(out, DEV_B, second.seq), 'utf8')) as {
      records: { seq: number }[];
    };
    expect(page.records.map((x) => x.seq)).toEqual([second.seq, third.seq]);
    expect(verifyArchiveCopy(out)).toMatchObject({ recordsMissing: 1, complete: false });
    org.unserved.clear();
    expect(await takeArchiveCopy(org.session(), out)).toMatchObject({ missingTotal: 0 });
    expect(verifyArchiveCopy(out).complete).toBe(true);
  });

  it('beyond the listed missing records, the unlisted ones are asked for again next run', async () => {
    org.addRecords(DEV_B, 1002, KEPT);
    const lost = org.records.slice(-1002);
    for (const x of lost) org.unserved.add(x.logIndex);
    const r = await takeArchiveCopy(org.session(), out);
    expect(r.missingTotal).toBe(1002);
    expect(r.missing).toHaveLength(1000);
    for (const x of lost) org.unserved.delete(x.logIndex);
    const again = await takeArchiveCopy(org.session(), out);
    expect(again).toMatchObject({ missingTotal: 0, recordsAdded: 1002 });
    expect(verifyArchiveCopy(out)).toMatchObject({ recordsMissing: 0, complete: true });
  });

  it('an interrupted run’s leftovers do not fail verify: temporary files, a page past the state; the next run removes the temporary files', async () => {
    const size = state().treeSize;
    const pages = join(out, 'devices', DEV_B);
    const page = JSON.parse(readFileSync(join(pages, readdirSync(pages).sort()[0]!), 'utf8')) as {
      records: { seq: number; logIndex: number }[];
    };
    // A page of a run that stopped before its state file: its record's entry is past the checkpoint.
    const ahead = { ...page, records: [{ ...page.records[0]!, seq: 9_000, logIndex: size + 3 }] };
    writeFileSync(join(pages, `${String(9_000).padStart(16, '0')}.json`), JSON.stringify(ahead));
    const temps = [
      join(pages, `${String(9_001).padStart(16, '0')}.json.tmp-4242`),
      `${bucketFile(out, KEPT)}.tmp-4242`,
      `${recordFile(out, hex(org.records[0]!.bytes))}.tmp-4242`,
    ];
    for (const t of temps) writeFileSync(t, 'half written');
    expect(verifyArchiveCopy(out)).toMatchObject({ treeSize: size, complete: true });
    await takeArchiveCopy(org.session(), out);
    for (const t of temps) expect(() => readFileSync(t)).toThrow();
    expect(verifyArchiveCopy(out).complete).toBe(true);
  });

  it('keeps no root wrap of a bucket whose keys a verified disposition destroyed in keys/org-profile.json', () => {
    const org0 = org.session().officer.org;
    expect(org0.buckets.find((b) => b.bucketId === KEPT)?.rootWrap).toBeDefined();
    const kept = profileOrgForCopy(org0, new Set([KEPT]));
    expect(kept.buckets.find((b) => b.bucketId === KEPT)).not.toHaveProperty('rootWrap');
    expect(kept.buckets.find((b) => b.bucketId === SHORT)).toEqual(
      org0.buckets.find((b) => b.bucketId === SHORT),
    );
    expect(profileOrgForCopy(org0, new Set())).toBe(org0);
  });

  it('reads a state whose device ids are any of the log’s well-formed ids, not only 22 characters', () => {
    const st = JSON.parse(readFileSync(join(out, COPY_STATE_FILE), 'utf8')) as Record<string, unknown>;
    const text = JSON.stringify({ ...st, devices: { 'laptop:7': { nextSeq: 3 } } });
    expect(parseCopyState(text).devices).toEqual({ 'laptop:7': { nextSeq: 3 } });
    expect(() => parseCopyState(JSON.stringify({ ...st, devices: { '../x': { nextSeq: 3 } } }))).toThrow(
      /devices/,
    );
  });

  it('refuses a folder that holds something else than a copy', async () => {
    const other = join(root, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'x');
    const e: unknown = await takeArchiveCopy(org.session(), other).catch((x: unknown) => x);
    expect(isConsoleError(e, 'OUT_EXISTS')).toBe(true);
  });
});
