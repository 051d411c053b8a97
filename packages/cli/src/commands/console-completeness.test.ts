import { describe, expect, it } from 'vitest';
import { UsageError } from '../command-flags.js';
import { formatDuration, parseDuration, parseSince } from './console-completeness.js';

describe('console completeness options', () => {
  it('parses durations and prints them in the largest whole unit', () => {
    expect(parseDuration('grace', '0s')).toBe(0);
    expect(parseDuration('grace', '30m')).toBe(1_800_000);
    expect(parseDuration('silent-after', '7d')).toBe(604_800_000);
    for (const bad of ['', '5', '5x', '-1h', '01h', '1.5h', '1 h', 'h']) {
      expect(() => parseDuration('grace', bad)).toThrow(UsageError);
    }
    expect(formatDuration(604_800_000)).toBe('7d');
    expect(formatDuration(5_400_000)).toBe('90m');
    expect(formatDuration(0)).toBe('0s');
  });

  it('parses --since as a UTC day or a zoned ISO time, and nothing else', () => {
    expect(parseSince('2026-11-01')).toBe(Date.UTC(2026, 10, 1));
    expect(parseSince('2026-11-26T08:00:00Z')).toBe(Date.UTC(2026, 10, 26, 8));
    expect(parseSince('2026-11-26T08:00:00+01:00')).toBe(Date.UTC(2026, 10, 26, 7));
    for (const bad of ['yesterday', '2026-02-30', '2026-11-26T08:00:00', '26/11/2026', '']) {
      expect(() => parseSince(bad)).toThrow(UsageError);
    }
  });
});
