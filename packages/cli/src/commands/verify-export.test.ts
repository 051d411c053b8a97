/** `custos verify PATH --log-key K`: a malformed key is a command-line mistake (exit 2), never a failed export. */
import { describe, expect, it } from 'vitest';
import type { VerifyExportReport } from '@custos/console';
import { cli, testFolder } from '../testing/run-cli.js';
import { describeVerified } from './verify-export.js';

/** A log verifier key as `custos console export` prints it (public). */
const KEY = '127.0.0.1:36077/bAUt3PzuwoDuKYsNyZbINg+e3ad2e0d+AbAaSXatrrSuNfng0y2sK72is+k7iRYLziKY+IEG3bpK';

/** A verified export's report as the console returns it, with `over` replacing fields. */
const verified = (over: Partial<Record<keyof VerifyExportReport, unknown>>): VerifyExportReport =>
  ({
    format: 'eml',
    records: 1,
    files: 4,
    batches: 1,
    custodian: 'org',
    range: { begin: 'a', end: 'b' },
    identityKeysChecked: 1,
    checkpoints: [],
    manifestSha256: 'ab',
    textBinding: 'verified',
    logKeyPinned: true,
    logKey: KEY,
    gapDeclarations: 'verified',
    declaredLost: [],
    unexplainedHoles: [],
    ...over,
  }) as unknown as VerifyExportReport;

describe('custos verify --log-key', () => {
  const dir = testFolder('custos-verify-args-');

  it('refuses a mistyped or cut key with exit 2 instead of failing the export as LOG_KEY_MISMATCH', async () => {
    // Compared as given, a cut key printed "FAILED LOG_KEY_MISMATCH", which reads as a forged export.
    for (const bad of ['wrong', KEY.slice(0, -1), KEY.replace('e3ad2e0d', 'e3ad2e0e')]) {
      const r = await cli(['verify', dir, '--log-key', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.err).toContain('--log-key is not a log verifier key');
      expect(r.err).not.toContain('FAILED');
    }
    // The whole key passes the check: what fails then is the (empty) folder, not the key.
    const whole = await cli(['verify', dir, '--log-key', KEY]);
    expect(whole.err).not.toContain('--log-key is not');
    expect(whole.code).toBe(1);
  });

  it("names a custodian by the address the export printed (USERID@ORGID), not the records' ORGID.USERID", () => {
    const org = 'O'.repeat(22);
    const user = 'U'.repeat(22);
    const report = (custodian: string) => verified({ custodian });
    expect(describeVerified('x', report(`${org}.${user}`))).toContain(
      `Custodian ${user}@${org}; events a to b.`,
    );
    expect(describeVerified('x', report(`${org} (organisation)`))).toContain(
      `Custodian ${org} (organisation);`,
    );
  });

  it('lists the runs devices declared lost apart from the holes no declaration explains', () => {
    const text = describeVerified(
      'x',
      verified({
        declaredLost: [
          { org: 'o', device: 'D1', firstSeq: 3, lastSeq: 5, reason: 'server-restored', logIndex: 41 },
          { org: 'o', device: 'D1', firstSeq: 6, lastSeq: 7, reason: 'bucket-disposed', logIndex: 50 },
        ],
        unexplainedHoles: [{ org: 'o', device: 'D1', firstSeq: 8, lastSeq: 8 }],
      }),
    );
    expect(text).toContain(
      'device D1 records 3–5: declared lost by the device (reason server-restored: the server was restored ' +
        'from an older backup after acknowledging them, log index 41)',
    );
    expect(text).toContain(
      'device D1 records 6–7: declared lost by the device (reason bucket-disposed: sealed to a disposed bucket, log index 50)',
    );
    expect(text).toMatch(/Holes no declaration explains: 1 .*\n {2}device D1 record 8\n/);
    expect(text).not.toContain('NOT carried');
    // A version-2 export carries no declarations: said so, and every hole is listed as unexplained.
    const many = Array.from({ length: 25 }, (_, i) => ({
      org: 'o',
      device: 'D1',
      firstSeq: 2 * i,
      lastSeq: 2 * i,
    }));
    const old = describeVerified('x', verified({ gapDeclarations: 'not-carried', unexplainedHoles: many }));
    expect(old).toContain('Gap declarations NOT carried');
    expect(old).toContain('… and 5 more (all are listed by --json).');
    expect(old).not.toContain('Declared lost');
  });
});
