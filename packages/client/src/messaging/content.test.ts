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

  it('does not echo an unknown field name (sender-chosen text) in the error', () => {
    const secret = 'meet at the north gate';
    let e: unknown;
    try {
      decodeContent(pad({ v: 1, id: 'a', ts: 1, kind: 'message', [secret]: 1 }));
    } catch (err) {
      e = err;
    }
    expect(isClientError(e, 'CONTENT_INVALID')).toBe(true);
    expect((e as Error).message).not.toContain('north');
  });

  it('checks the parts of groups, attachments, receipts, timers and profiles', () => {
    const g = 'g.AAAAAAAAAAAAAAAAAAAAAA';
    const gs = { name: 'Ops', mem: [{ org: 'o', user: 'a' }], rev: 1 };
    const dig = new Uint8Array(32).fill(1);
    const a = { id: Buffer.from(dig).toString('hex'), key: new Uint8Array(32), dig, size: 3, type: 't/x' };
    const ok = { v: 1, id: 'a', ts: 1 };
    expect(decodeContent(pad({ ...ok, kind: 'group-update', grp: g, gs })).groupState?.members).toEqual([
      { org: 'o', user: 'a' },
    ]);
    expect(decodeContent(pad({ ...ok, kind: 'message', att: [a] })).attachments?.[0]?.size).toBe(3);
    expect(decodeContent(pad({ ...ok, kind: 'timer', exp: 0 })).timer).toBe(0);
    const bads = [
      { ...ok, kind: 'group-update', grp: g },
      { ...ok, kind: 'group-update', grp: 'g.short', gs },
      { ...ok, kind: 'group-update', grp: g, gs: { ...gs, mem: [] } },
      { ...ok, kind: 'group-update', grp: g, gs: { ...gs, mem: [gs.mem[0], gs.mem[0]] } },
      { ...ok, kind: 'message', text: 't', gs },
      { ...ok, kind: 'message', att: [{ ...a, id: 'ab'.repeat(32) }] },
      { ...ok, kind: 'message', att: [{ ...a, key: new Uint8Array(16) }] },
      { ...ok, kind: 'message', att: [{ ...a, extra: 1 }] },
      { ...ok, kind: 'receipt', rcpt: 'read', rids: [] },
      { ...ok, kind: 'receipt', rcpt: 'seen', rids: ['m'] },
      { ...ok, kind: 'timer', exp: -1 },
      { ...ok, kind: 'timer' },
      { ...ok, kind: 'message', text: 't', prof: { name: '' } },
    ];
    for (const b of bads) expect(code(() => decodeContent(pad(b)))).toBe('CONTENT_INVALID');
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
