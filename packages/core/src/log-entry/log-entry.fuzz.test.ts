import { describe, expect, it } from 'vitest';
import type { BucketId, DeviceId, OrgId } from '../record/index.js';
import { fuzzParser } from '../testing/fuzz.js';
import { decodeLogEntry, encodeLogEntry } from './log-entry-codec.js';
import type { LogEntry } from './log-entry.js';

const c = { hash: new Uint8Array(32).fill(7), size: 5, time: 1_767_139_200_000 };
const seeds: readonly LogEntry[] = [
  {
    type: 'archive-record',
    ...c,
    actor: 'd1',
    org: 'o' as OrgId,
    device: 'd1' as DeviceId,
    seq: 3,
    bucket: 'b' as BucketId,
  },
  { type: 'relay-receipt', ...c, actor: 'd1', sender: 'd1' as DeviceId, recipient: 'd2' as DeviceId },
  { type: 'key-event', ...c, actor: 'a', kind: 'device-revoked', subject: 'd2' },
  { type: 'audit-event', ...c, actor: 'u', kind: 'search' },
  { type: 'hold', ...c, actor: 'a', holdId: 'h1', action: 'release' },
  { type: 'disposition', ...c, actor: 'sys', bucket: 'b' as BucketId, records: 0 },
  {
    type: 'archive-gap',
    ...c,
    actor: 'd1',
    org: 'o' as OrgId,
    device: 'd1' as DeviceId,
    seq: 3,
    end: 9,
    reason: 'server-restored',
  },
];

describe('fuzz: decodeLogEntry', () => {
  it('returns or throws CustosError, never hangs', () => {
    const report = fuzzParser((b) => decodeLogEntry(b), seeds.map(encodeLogEntry), { seed: 11 });
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThan(0);
  });
});
