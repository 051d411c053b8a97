/**
 * The retention durations issue 5 names as defaults: transitory 180 days, standard 7 years,
 * permanent never — each measured from the end of the bucket's (inclusive) window.
 */
import { describe, expect, it } from 'vitest';
import { bucketExpiry } from './retention-classes.js';

const DAY = 86_400_000;
/** A bucket for January 2026: the window ends at the last millisecond of the month. */
const JAN_2026_END = Date.UTC(2026, 1, 1) - 1;

describe('bucketExpiry', () => {
  it('keeps a transitory bucket 180 days after its window ends', () => {
    const at = bucketExpiry({ retentionClass: 'transitory', notAfter: JAN_2026_END });
    expect(at).toBe(Date.UTC(2026, 1, 1) + 180 * DAY);
  });

  it('keeps a standard bucket seven calendar years after its window ends', () => {
    expect(bucketExpiry({ retentionClass: 'standard', notAfter: JAN_2026_END })).toBe(Date.UTC(2033, 1, 1));
  });

  it('never expires a permanent bucket, nor one of a class no rule covers', () => {
    expect(bucketExpiry({ retentionClass: 'permanent', notAfter: JAN_2026_END })).toBeNull();
    expect(bucketExpiry({ retentionClass: 'forever-ish', notAfter: JAN_2026_END })).toBeNull();
  });
});
