/**
 * What `custos devices revoke` and `custos admin revoke` say the revoked device may still do:
 * what the server granted, and, when a server older than `handInUntil` did not say, neither
 * "locked out" nor "no window" (such a server granted one by default to a device its user
 * revoked from another: a stolen phone's finder could still upload in the user's name).
 */
import { describe, expect, it } from 'vitest';
import {
  handInWindowJson,
  handInWindowText,
  revokedLines,
  strandedByRetirementText,
} from './hand-in-text.js';

const UNTIL = Date.UTC(2026, 11, 12, 9, 30);

describe('the hand-in window a revocation left', () => {
  it('a deadline: until when it may upload what it sealed before', () => {
    expect(handInWindowText(UNTIL)).toBe(
      "until 2026-12-12 09:30 UTC it may only upload the archive records it sealed before ('custos sync' on it).",
    );
    expect(handInWindowJson(UNTIL)).toEqual({ handInWindow: 'granted', handInUntil: UNTIL });
  });

  it('none: locked out', () => {
    expect(handInWindowText(null)).toBe('it can no longer log in.');
    expect(handInWindowJson(null)).toEqual({ handInWindow: 'none', handInUntil: null });
  });

  it('not said: says so, not that it is locked out, and --json tells it from none', () => {
    const text = handInWindowText(undefined);
    expect(text).toMatch(/^the server did not say whether it may still log in to upload the archive records/);
    expect(text).toMatch(/Servers older than this client do not say, and may grant that .*check with/);
    expect(text).not.toMatch(/can no longer log in/);
    expect(handInWindowJson(undefined)).toEqual({ handInWindow: 'unknown', handInUntil: null });
  });
});

describe('records a forced retirement strands', () => {
  it('are named as lost: a retired device gets no window, so no later sync hands them in', () => {
    const text = strandedByRetirementText({ count: 3, firstSeq: 7, lastSeq: 9 });
    expect(text).toMatch(/^WARNING: 3 record\(s\) \(sequence 7–9\) could not be uploaded/);
    expect(text).toMatch(/can no longer reach the archive/);
    expect(text).not.toMatch(/custos sync/);
  });
});

describe("what a revoked device's sync says of the records it could not hand in", () => {
  const REVOKED = Date.UTC(2026, 0, 10, 8, 0);
  const stranded = { uploaded: 0, notUploaded: { count: 2, firstSeq: 4, lastSeq: 5 } };
  const warning = (handInUntil: number | null | undefined): string =>
    revokedLines({ revokedAt: REVOKED, handInUntil }, stranded, 'sync').find((l) => l.startsWith('WARNING'))!;

  it('no window granted: lost, and says why (not that a window closed)', () => {
    const text = warning(null);
    expect(text).toMatch(/revoked without an archive hand-in window/);
    expect(text).toMatch(/lost to the archive/);
    expect(text).not.toMatch(/closed|custos sync/);
  });

  it('a window still open: until when, and to sync again', () => {
    const until = Date.now() + 3_600_000;
    expect(warning(until)).toMatch(/The server takes them until .* UTC: run 'custos sync' again before then/);
  });

  it('a refusal that gave no times: says it does not know, not that the records are lost', () => {
    const text = warning(undefined);
    expect(text).toMatch(/did not say whether it still takes them: run 'custos sync' again/);
    expect(text).not.toMatch(/without an archive hand-in window|closed/);
  });

  it('a window that closed: when it closed, and lost', () => {
    expect(warning(REVOKED + 60_000)).toMatch(/hand-in window closed 2026-01-10 08:01 UTC\): they are lost/);
  });
});
