import { randomBytes } from 'node:crypto';
import { PrivateKey } from '@signalapp/libsignal-client';
import { describe, expect, it } from 'vitest';
import { CustosError } from '../errors.js';
import { deviceId, orgId, type RecordHash } from '../record/ids.js';
import {
  chainAnchorAfterGap,
  decodeGapDeclaration,
  encodeGapMessage,
  signGapDeclaration,
  verifyGapDeclaration,
  type GapDeclaration,
} from './gap-declaration.js';

const decl: GapDeclaration = {
  org: orgId('org-acme'),
  device: deviceId('dev-1'),
  firstSeq: 5,
  lastSeq: 9,
  prev: Uint8Array.from(randomBytes(32)) as RecordHash,
  resume: Uint8Array.from(randomBytes(32)) as RecordHash,
  reason: 'server-restored',
};
const codeOf = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof CustosError ? e.code : `raw ${String(e)}`;
  }
};

describe('gap declarations', () => {
  it('encodes the documented message layout', () => {
    const m = Buffer.from(encodeGapMessage(decl));
    const expected = Buffer.concat([
      Buffer.from('custos-archive-v1 gap-declaration\u0000'),
      Buffer.from([0, 8]),
      Buffer.from('org-acme'),
      Buffer.from([0, 5]),
      Buffer.from('dev-1'),
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 5]),
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 9]),
      decl.prev,
      decl.resume,
      Buffer.from([15]),
      Buffer.from('server-restored'),
    ]);
    expect(m.equals(expected)).toBe(true);
  });

  it('signs a document that decodes and verifies to the same declaration', () => {
    const k = PrivateKey.generate();
    const doc = signGapDeclaration(k, decl);
    expect(doc.length).toBe(encodeGapMessage(decl).length + 64);
    expect(verifyGapDeclaration(k.getPublicKey().serialize(), doc)).toEqual(decl);
    expect(decodeGapDeclaration(doc).declaration).toEqual(decl);
  });

  it('every single-bit flip of the document is refused (malformed or not signed)', () => {
    const k = PrivateKey.generate();
    const pub = k.getPublicKey().serialize();
    const doc = signGapDeclaration(k, decl);
    const outcomes = new Set<string>();
    for (let bit = 0; bit < doc.length * 8; bit++) {
      const t = Uint8Array.from(doc);
      t[bit >> 3]! ^= 1 << (bit & 7);
      const code = codeOf(() => verifyGapDeclaration(pub, t));
      expect(['MALFORMED_INPUT', 'SIGNATURE_INVALID'], `bit ${bit}`).toContain(code);
      outcomes.add(code);
    }
    expect(outcomes).toEqual(new Set(['MALFORMED_INPUT', 'SIGNATURE_INVALID']));
    expect(codeOf(() => verifyGapDeclaration(PrivateKey.generate().getPublicKey().serialize(), doc))).toBe(
      'SIGNATURE_INVALID',
    );
    expect(codeOf(() => verifyGapDeclaration(pub, doc.subarray(0, doc.length - 1)))).toBe('MALFORMED_INPUT');
    expect(codeOf(() => verifyGapDeclaration(pub, Uint8Array.from([...doc, 0])))).toBe('MALFORMED_INPUT');
    expect(codeOf(() => verifyGapDeclaration(pub, new Uint8Array(2048)))).toBe('OVERSIZED_INPUT');
  });

  it('refuses malformed declarations', () => {
    const k = PrivateKey.generate();
    const sign = (d: Partial<GapDeclaration>) => codeOf(() => signGapDeclaration(k, { ...decl, ...d }));
    expect(sign({ lastSeq: 4 })).toBe('INVALID_ARGUMENT');
    expect(sign({ firstSeq: -1 })).toBe('INVALID_ARGUMENT');
    expect(sign({ firstSeq: 0 })).toBe('INVALID_ARGUMENT'); // prev of seq 0 must be zeros
    expect(sign({ firstSeq: 0, prev: new Uint8Array(32) as RecordHash })).toBe('ok');
    expect(sign({ resume: new Uint8Array(31) as RecordHash })).toBe('INVALID_ARGUMENT');
    expect(sign({ reason: 'lost' as GapDeclaration['reason'] })).toBe('INVALID_ARGUMENT');
    expect(sign({ device: 'dev 1' as GapDeclaration['device'] })).toBe('INVALID_ARGUMENT');
  });

  it('continues a verified chain from the declared point, and only from exactly where it stopped', () => {
    const anchor = { seq: 4, hash: decl.prev };
    expect(chainAnchorAfterGap(decl, anchor)).toEqual({ seq: 9, hash: decl.resume });
    expect(codeOf(() => chainAnchorAfterGap(decl, { seq: 3, hash: decl.prev }))).toBe('CHAIN_BROKEN');
    expect(codeOf(() => chainAnchorAfterGap(decl, { seq: 4, hash: decl.resume }))).toBe('CHAIN_BROKEN');
    expect(codeOf(() => chainAnchorAfterGap(decl))).toBe('CHAIN_BROKEN');
    const fromZero = { ...decl, firstSeq: 0, prev: new Uint8Array(32) as RecordHash };
    expect(chainAnchorAfterGap(fromZero)).toEqual({ seq: 9, hash: decl.resume });
  });
});
