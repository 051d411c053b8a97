/**
 * Blind-index throughput (issue 2 target: blind tokens ≥ 1,000,000/s).
 *
 * "blind tokens (batch)" MACs already-normalised terms into one buffer (`deriveTokensInto`,
 * the form a header encoder wants) and is compared with a bare
 * `createHmac('sha256', key).update(term).digest()` of the same terms in the same run.
 * "as BlindToken[]" adds one typed-array view per token (`deriveTokens`); "tokensForRecord"
 * is the whole path for a realistic message (normalisation, segmentation, MACs, sort).
 * Both are reported for information.
 */
import { createHmac, randomBytes } from 'node:crypto';
import {
  BLIND_TOKEN_LENGTH,
  BlindIndexKey,
  deriveTokens,
  deriveTokensInto,
  tokensForRecord,
} from '@custos/core';
import type { BenchCase } from '../harness.js';

const TERM_COUNT = 50_000;
const RECORDS_PER_SAMPLE = 500;

/** Deterministic pseudo-words with an English-like length spread, some accented, some CJK bigrams. */
function makeTerms(n: number): string[] {
  const letters = 'etaoinshrdlcumwfgypbvkjxqz';
  let s = 0x2545f491;
  const next = (m: number): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % m;
  };
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const kind = next(20);
    if (kind === 0) {
      out.push(String.fromCodePoint(0x4e00 + next(20000), 0x4e00 + next(20000)));
      continue;
    }
    let w = '';
    const len = 2 + next(10);
    for (let j = 0; j < len; j++) w += letters[Math.min(next(26), next(26))]!;
    out.push(kind === 1 ? w + 'é' : w);
  }
  return out;
}

const keyBytes = randomBytes(32);
const key = BlindIndexKey.fromBytes(keyBytes);
const terms = makeTerms(TERM_COUNT);
const packed = new Uint8Array(TERM_COUNT * BLIND_TOKEN_LENGTH);

const MESSAGE =
  'Hi team — the Q3 résumé review is moved to Thursday 14:00 in the Straße office. ' +
  'Please bring the updated invoices (INV-2024-0042 and INV-2024-0057), the compliance checklist, ' +
  'and your notes from the vendor call. Зустріч о 15:00. 会议在北京办公室举行。 Thanks!';
const PARTICIPANTS = ['user:alice', 'user:bob', 'user:carol', 'user:dave'];

export const cases: BenchCase[] = [
  {
    kind: 'rate',
    name: 'blind tokens (batch, normalised terms)',
    unit: 'tokens/s',
    run: () => {
      deriveTokensInto(key, 'term', terms, packed);
      return terms.length;
    },
    baseline: {
      name: 'createHmac per term',
      run: () => {
        let n = 0;
        for (const t of terms) n += createHmac('sha256', keyBytes).update(t).digest().length > 0 ? 1 : 0;
        return n;
      },
    },
    target: { min: 1_000_000 },
  },
  {
    kind: 'rate',
    name: 'blind tokens as BlindToken[]',
    unit: 'tokens/s',
    run: () => deriveTokens(key, 'term', terms).length,
  },
  {
    kind: 'rate',
    name: 'tokensForRecord (~300-byte multi-script message)',
    unit: 'records/s',
    run: () => {
      for (let i = 0; i < RECORDS_PER_SAMPLE; i++) {
        tokensForRecord(key, {
          text: MESSAGE,
          participants: PARTICIPANTS,
          conversationId: 'conv-1',
          timestamp: i * 1000,
        });
      }
      return RECORDS_PER_SAMPLE;
    },
  },
];
