/**
 * Fuzzes the client's decoders with core's mutation fuzzer (core/testing/fuzz.ts): message
 * content (every part: group state, attachment pointers, receipts, timers, profile) and
 * attachment blobs. Each input decodes or is refused with a ClientError; anything else fails.
 */
import { createHash } from 'node:crypto';
import { CustosError } from '@custos/core';
import { describe, expect, it } from 'vitest';
import { isClientError } from '../errors.js';
import { decryptAttachment, encryptAttachment } from './attachments.js';
import { decodeContent, encodeContent, newMessageId, type MessageContent } from './content.js';

type Fuzz = (
  parse: (b: Uint8Array) => unknown,
  seeds: readonly Uint8Array[],
) => { accepted: number; rejected: number; failures: readonly { error: string }[] };

/** core's fuzzer is test-only (not exported, outside this package's rootDir): loaded from source at run time. */
async function fuzzParser(): Promise<Fuzz> {
  const url = new URL('../../../core/src/testing/fuzz.ts', import.meta.url).href;
  const mod = (await import(url)) as { fuzzParser: Fuzz };
  return mod.fuzzParser;
}

/** The fuzzer expects CustosError for refusals: a ClientError is mapped to one; anything else escapes. */
const asCore =
  (f: (b: Uint8Array) => unknown) =>
  (b: Uint8Array): unknown => {
    try {
      return f(b);
    } catch (e) {
      if (isClientError(e)) throw new CustosError('MALFORMED_INPUT', e.message);
      throw e;
    }
  };

const base = { id: newMessageId(), timestamp: 1_700_000_000_000, notice: { org: 'org1', name: 'Agency' } };
const att = encryptAttachment(new Uint8Array(300).fill(7), { contentType: 'text/plain', fileName: 'a.txt' });
const SEEDS: MessageContent[] = [
  {
    ...base,
    kind: 'message',
    text: 'hi',
    group: 'g.AAAAAAAAAAAAAAAAAAAAAA',
    timer: 30,
    profile: { name: 'Al' },
  },
  { ...base, kind: 'message', attachments: [att.pointer], replyTo: 'm1' },
  {
    ...base,
    kind: 'group-update',
    group: 'g.BBBBBBBBBBBBBBBBBBBBBB',
    groupState: {
      name: 'Ops',
      members: [
        { org: 'o', user: 'a' },
        { org: 'o', user: 'b' },
      ],
      revision: 3,
    },
  },
  { ...base, kind: 'receipt', receipt: 'read', receiptFor: ['m1', 'm2'] },
  { ...base, kind: 'timer', timer: 3600, sync: { org: 'o', user: 'a' } },
  { ...base, kind: 'reaction', reactsTo: 'm1', emoji: '👍' },
];

describe('client decoders under fuzzing', () => {
  it('decodeContent: every input decodes or is CONTENT_INVALID', async () => {
    const seeds = SEEDS.map(encodeContent);
    const report = (await fuzzParser())(asCore(decodeContent), seeds);
    expect(report.failures).toEqual([]);
    for (const s of seeds) expect(() => decodeContent(s)).not.toThrow();
    expect(report.accepted).toBeGreaterThan(0);
  });

  it('decryptAttachment: every blob opens or is a ClientError', async () => {
    // A pointer whose digest matches each mutated input, so the length and tag checks are reached too.
    const parse = (b: Uint8Array) =>
      decryptAttachment(b, {
        ...att.pointer,
        digest: new Uint8Array(createHash('sha256').update(b).digest()),
      });
    const report = (await fuzzParser())(asCore(parse), [att.blob]);
    expect(report.failures).toEqual([]);
    expect(report.rejected).toBeGreaterThan(0);
  });
});
