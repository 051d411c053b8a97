import type { CopyResult } from '@custos/console';
import { describe, expect, it } from 'vitest';
import { copyExitCode, copyLines } from './console-archive-copy.js';

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
  dispositionProblems: [],
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
    expect(copyExitCode(r)).toBe(1);
    expect(copyExitCode(base)).toBe(0);
    expect(copyExitCode({ ...base, destructions: [recorded] })).toBe(0);
    expect(copyExitCode({ ...base, missingTotal: 1 })).toBe(1);
  });
});
