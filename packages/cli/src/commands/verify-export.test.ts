/** `custos verify PATH --log-key K`: a malformed key is a command-line mistake (exit 2), never a failed export. */
import { describe, expect, it } from 'vitest';
import { cli, testFolder } from '../testing/run-cli.js';

/** A log verifier key as `custos console export` prints it (public). */
const KEY = '127.0.0.1:36077/bAUt3PzuwoDuKYsNyZbINg+e3ad2e0d+AbAaSXatrrSuNfng0y2sK72is+k7iRYLziKY+IEG3bpK';

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
});
