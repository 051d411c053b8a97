import { encodeDeterministicCbor } from '@custos/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isClientError } from '../errors.js';
import {
  CONTENT_PADDING_BLOCK,
  decodeContent,
  encodeContent,
  newMessageId,
  type MessageContent,
} from './content.js';

const base: MessageContent = {
  id: newMessageId(),
  timestamp: 1_700_000_000_000,
  kind: 'message',
  text: 'hi',
};

function pad(m: Record<string, unknown>): Uint8Array {
  const b = encodeDeterministicCbor(m);
  const out = new Uint8Array(Math.ceil((b.length + 1) / 160) * 160);
  out.set(b);
  out[b.length] = 0x80;
  return out;
}

function code(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return isClientError(e) ? e.code : 'OTHER';
  }
}

describe('message content v1', () => {
  it('round-trips every kind, with notice and sync, padded to 160-byte blocks', () => {
    const cases: MessageContent[] = [
      base,
      { ...base, notice: { org: 'o'.repeat(22), name: 'Agency' }, conversation: 'g1', replyTo: 'm0' },
      { ...base, kind: 'edit', edits: 'm0', text: 'fixed' },
      { id: 'x', timestamp: 1, kind: 'delete', deletes: 'm0', sync: { org: 'a', user: 'b' } },
      { id: 'y', timestamp: 2, kind: 'reaction', reactsTo: 'm0', emoji: '👍' },
    ];
    for (const c of cases) {
      const bytes = encodeContent(c);
      expect(bytes.length % CONTENT_PADDING_BLOCK).toBe(0);
      expect(decodeContent(bytes)).toEqual(c);
    }
  });

  it('round-trips arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (text) => {
        expect(decodeContent(encodeContent({ ...base, text })).text).toBe(text);
      }),
    );
  });

  it('refuses malformed content with CONTENT_INVALID', () => {
    const good = { v: 1, id: 'a', ts: 1, kind: 'message', text: 't' };
    expect(decodeContent(pad(good)).text).toBe('t');
    const bads: Uint8Array[] = [
      new Uint8Array(160),
      pad({ ...good, v: 2 }),
      pad({ ...good, extra: 1 }),
      pad({ ...good, kind: 'call' }),
      pad({ ...good, id: '' }),
      pad({ v: 1, id: 'a', ts: 1, kind: 'edit', text: 't' }),
      pad({ v: 1, id: 'a', ts: 1, kind: 'reaction', reacts: 'm' }),
      pad({ ...good, notice: { org: 'x' } }),
      pad({ ...good, sync: 'me' }),
      new Uint8Array([0xa1, 0x80]),
    ];
    for (const b of bads) expect(code(() => decodeContent(b))).toBe('CONTENT_INVALID');
  });

  it('never throws anything but CONTENT_INVALID on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        const c = code(() => decodeContent(b));
        expect(c === undefined || c === 'CONTENT_INVALID').toBe(true);
      }),
    );
  });
});
