/** The entry a receipt proves is checked before anything is dropped: bytes that do not decode are refused by index. */
import { encodeLogEntry, type DeviceId } from '@custos/core';
import { describe, expect, it } from 'vitest';
import { decodeProvenEntry } from './gap-proofs.js';

describe('decodeProvenEntry', () => {
  it('decodes a log entry, and refuses bytes that are none naming the log index', () => {
    const receipt = encodeLogEntry({
      type: 'relay-receipt',
      hash: new Uint8Array(32),
      size: 1,
      actor: 'd1',
      sender: 'd1' as DeviceId,
      recipient: 'd2' as DeviceId,
      time: 1,
    });
    expect(decodeProvenEntry(receipt, 3).type).toBe('relay-receipt');
    expect(() => decodeProvenEntry(Uint8Array.of(0xa0, 0xff), 7)).toThrow(
      expect.objectContaining({ code: 'RECEIPT_INVALID', message: 'log entry 7 does not decode' }),
    );
  });
});
