import type { CopyResult } from '@custos/console';
import { describe, expect, it } from 'vitest';
import { copyExitCode, copyJson, copyLines } from './console-archive-copy.js';

const base: CopyResult = {
  out: '/backup/copy',
  outcome: 'extended',
  previousTreeSize: 300,
  treeSize: 420,
  log: { origin: 'custos.test/org', verifierKey: 'custos.test/org+abcd+KEY' },
  checkpoint: 'note',
  entriesAdded: 120,
  recordsAdded: 100,
  recordBytesAdded: 150 * 1024,
  records: 400,
  recordBytes: 3 * 1024 * 1024,
  buckets: 3,
  bucketsDisposed: [],
  destructions: [],
  destructionFindings: [],
  recordsDisposed: 0,
  disposals: [],
  disposalFindings: [],
  servedAgain: [],
  servedAgainTotal: 0,
  dispositionProblems: [],
  dispositionProblemsActedOn: [],
  wrapConflicts: [],
  missing: [],
  missingTotal: 0,
};

describe('console archive-copy output', () => {
  it('says how the log moved, what was added and held, and how to check the copy', () => {
    expect(copyLines(base)).toEqual([
      'Archive copy in /backup/copy brought up to date: the log grew from 300 to 420 entries (consistency proof verified).',
      'Archive copy holds 400 record(s), 3.0 MiB, and the keys of 3 bucket(s); 100 record(s) added (150.0 KiB).',
      "Check it offline with: custos verify copy /backup/copy --log-key 'custos.test/org+abcd+KEY'",
    ]);
  });

  it('names disposed buckets and each missing record, and says the copy is incomplete', () => {
    const lines = copyLines({
      ...base,
      bucketsDisposed: ['transitory-2026-01'],
      missing: [{ logIndex: 7, device: 'dev', seq: 3 }],
      missingTotal: 2,
    });
    expect(lines).toContain(
      'Disposed since the last run: transitory-2026-01 — a verified certificate destroyed their keys; their wrapped keys were removed from the copy.',
    );
    expect(lines).toContain('MISSING   device dev record 3 (log index 7): the server did not serve it');
    expect(lines).toContain('… and 1 more missing.');
    expect(lines.some((l) => l.startsWith('INCOMPLETE: 2 logged record(s) the server did not serve'))).toBe(
      true,
    );
  });

  it('names a recorded destruction the server no longer bears out, with its proof and what the server said, and exits 1', () => {
    const recorded = {
      bucketId: 'transitory-2026-01',
      certificateHash: 'ab'.repeat(32),
      planId: 'cd'.repeat(32),
      logIndex: 412,
      executedAt: Date.UTC(2026, 5, 1),
      recordedAt: '2026-06-02T03:00:00.000Z',
    };
    const r: CopyResult = {
      ...base,
      destructions: [recorded],
      destructionFindings: [
        {
          bucketId: recorded.bucketId,
          recorded,
          server:
            'the disposition at log index 412 does not verify: plan cdcd…: is executed without a certificate',
        },
      ],
    };
    expect(copyLines(r)).toContain(
      `WITHDRAWN bucket transitory-2026-01: the copy recorded its destruction on 2026-06-02T03:00:00.000Z (certificate ${recorded.certificateHash}, plan ${recorded.planId}, log index 412, executed 2026-06-01T00:00:00.000Z); now the disposition at log index 412 does not verify: plan cdcd…: is executed without a certificate. The copy keeps it destroyed and changed nothing of it. Report it: the server no longer bears out a verified destruction.`,
    );
    expect(copyLines(r)).toContain(
      'INCOMPLETE: the server contradicts what the copy recorded (1 destruction(s) withdrawn): the copy keeps what it recorded, but this run cannot show it holds every record it should. Report it.',
    );
    // Not complete, in --json as in the exit code, though no record is missing.
    expect([copyExitCode(r), copyJson(r).complete]).toEqual([1, false]);
    expect([copyExitCode(base), copyJson(base).complete]).toEqual([0, true]);
    const kept = { ...base, destructions: [recorded] };
    expect([copyExitCode(kept), copyJson(kept).complete]).toEqual([0, true]);
    const missing = { ...base, missingTotal: 1 };
    expect([copyExitCode(missing), copyJson(missing).complete]).toEqual([1, false]);
    expect(copyJson(r)).toMatchObject({ destructionFindings: r.destructionFindings, missingTotal: 0 });
  });

  it('names a recorded disposal the server no longer bears out and a disposed record served again, and exits 1', () => {
    const recorded = {
      certificateHash: 'ab'.repeat(32),
      planId: 'cd'.repeat(32),
      logIndex: 412,
      records: 4,
      leavesDigest: 'ef'.repeat(32),
      recordedAt: '2026-06-02T03:00:00.000Z',
    };
    const server =
      'the disposition at log index 412 does not verify: no disposition.execute act of the verified log names this certificate';
    const withdrawn: CopyResult = {
      ...base,
      disposals: [recorded],
      disposalFindings: [{ recorded, records: 4, server }],
    };
    expect(copyLines(withdrawn)).toContain(
      `WITHDRAWN certificate ${recorded.certificateHash}: the copy recorded on 2026-06-02T03:00:00.000Z that it disposed of 4 record(s) (plan ${recorded.planId}, log index 412, leaf digest ${recorded.leavesDigest}); now ${server}. The copy keeps them disposed of and changed nothing of them. Report it: the server no longer bears out a verified disposal.`,
    );
    expect([copyExitCode(withdrawn), copyJson(withdrawn).complete]).toEqual([1, false]);
    expect(copyLines(withdrawn).filter((l) => l.startsWith('INCOMPLETE'))).toEqual([
      'INCOMPLETE: the server contradicts what the copy recorded (1 disposal(s) withdrawn): the copy keeps what it recorded, but this run cannot show it holds every record it should. Report it.',
    ]);
    const kept = { ...base, disposals: [recorded] };
    expect([copyExitCode(kept), copyJson(kept).complete]).toEqual([0, true]);
    const older = copyLines({ ...base, disposalFindings: [{ recorded: null, records: 3, server }] });
    expect(older).toContain(
      `WITHDRAWN 3 record(s) an earlier run of an older custos disposed of, recording no certificate; now ${server}. The copy keeps them disposed of and changed nothing of them. Report it: the server no longer bears out a verified disposal.`,
    );

    const served: CopyResult = {
      ...base,
      servedAgain: [{ logIndex: 40, device: 'dev', seq: 9 }],
      servedAgainTotal: 3,
    };
    expect(copyLines(served)).toContain(
      'SERVED    device dev record 9 (log index 40): the copy holds it disposed of under a verified certificate, yet the server serves it again; it is not copied back. Report it.',
    );
    expect(copyLines(served)).toContain('… and 2 more disposed record(s) served again.');
    expect([copyExitCode(served), copyJson(served).complete]).toEqual([1, false]);
    // Each kind counted, and missing records said on their own line.
    const all = copyLines({
      ...withdrawn,
      servedAgain: served.servedAgain,
      servedAgainTotal: 3,
      missingTotal: 2,
    });
    expect(all.filter((l) => l.startsWith('INCOMPLETE'))).toEqual([
      'INCOMPLETE: 2 logged record(s) the server did not serve; the next run asks again. Report it: the log says they were stored.',
      'INCOMPLETE: the server contradicts what the copy recorded (1 disposal(s) withdrawn, 3 disposed record(s) served again): the copy keeps what it recorded, but this run cannot show it holds every record it should. Report it.',
    ]);
  });

  it('says whether the copy acted on a disposition that does not verify', () => {
    const lines = copyLines({
      ...base,
      dispositionProblems: ['the disposition at log index 9 does not verify: x'],
      dispositionProblemsActedOn: ['the disposition at log index 12, bucket b: y'],
    });
    expect(lines).toContain(
      'UNVERIFIED the disposition at log index 9 does not verify: x: the copy deleted nothing on its word. Report it to the other officers.',
    );
    expect(lines).toContain(
      'UNVERIFIED the disposition at log index 12, bucket b: y: an earlier run verified this disposition and the copy acted on it (recorded in custos-copy.json, kept); it deletes nothing more on its word. Report it to the other officers.',
    );
    // An UNVERIFIED disposition deleted nothing: the copy is complete, and no line says otherwise.
    expect(lines.some((l) => l.startsWith('INCOMPLETE'))).toBe(false);
    for (const r of [
      { ...base, dispositionProblems: ['y'] },
      { ...base, dispositionProblemsActedOn: ['z'] },
    ])
      expect([copyExitCode(r), copyJson(r).complete]).toEqual([0, true]);
  });
});
