import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CustosError, type CustosErrorCode } from '../errors.js';
import { EMPTY_ROOT, hashChildren, hashLeaf } from '../tlog/index.js';
import {
  cosignCheckpoint,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from './checkpoint.js';
import { COSIGNATURE_V1_BYTES, CosignatureSigner, cosignatureMessage } from './cosignature.js';
import { keyLabel, openNote, parseNote, signNote } from './signed-note.js';
import { Ed25519NoteSigner, parseSignerKey } from './signer.js';
import {
  fixtureUrl,
  hex,
  tesseraSignerKey,
  toHex,
  type SignedNoteVectors,
  type TesseraLog,
} from './test-vectors.js';
import { formatVerifierKey } from './verifier-key.js';

const LOG = JSON.parse(readFileSync(fixtureUrl('tessera-testdata-log.json'), 'utf8')) as TesseraLog;
const V = JSON.parse(readFileSync(fixtureUrl('signed-notes.json'), 'utf8')) as SignedNoteVectors;

function codeOf(f: () => unknown): CustosErrorCode | 'ok' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof CustosError) return e.code;
    throw e;
  }
}

/** RFC 6962 §2.1 Merkle tree hash, straight from the definition. */
function mth(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return hashLeaf(leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return hashChildren(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

describe('Tessera test log checkpoints', () => {
  const entries = LOG.entries.map((e) => hex(e.hex));
  const signer = parseSignerKey(tesseraSignerKey(LOG));

  it('has all 16 checkpoints (sizes 0..15)', () => {
    expect(LOG.checkpoints.map((c) => c.treeSize)).toEqual([...Array(16).keys()]);
  });

  for (const c of LOG.checkpoints) {
    it(`size ${c.treeSize}: verifies, and its root is the tree of the first ${c.treeSize} entries`, () => {
      const opened = openCheckpoint(c.checkpoint, [LOG.verifierKey], LOG.origin);
      expect(opened.checkpoint.origin).toBe(LOG.origin);
      expect(opened.checkpoint.treeSize).toBe(c.treeSize);
      expect(toHex(opened.checkpoint.rootHash)).toBe(c.root);
      expect(toHex(mth(entries.slice(0, c.treeSize)))).toBe(c.root);
      expect(keyLabel(opened.logSignature)).toBe('example.com/log/testdata+33d7b496');
      expect(opened.cosignatures).toEqual([]);
      // Re-formatting is exact, and the published test key reproduces the signature.
      expect(formatCheckpoint(opened.checkpoint)).toBe(opened.note.text);
      expect(signCheckpoint(opened.checkpoint, signer)).toBe(c.checkpoint);
    });
  }

  it('rejects a checkpoint for another origin, and one not signed by the log key', () => {
    const c = LOG.checkpoints[15]!.checkpoint;
    expect(codeOf(() => openCheckpoint(c, [LOG.verifierKey], 'example.com/other'))).toBe(
      'MALFORMED_CHECKPOINT',
    );
    const impostor = new Ed25519NoteSigner(
      'example.com/log/testdata',
      generateKeyPairSync('ed25519').privateKey,
    );
    expect(codeOf(() => openCheckpoint(c, [impostor.verifierKey()], LOG.origin))).toBe('UNKNOWN_KEY');
    // A valid signature by a known key with another name does not make it a log checkpoint.
    const other = new Ed25519NoteSigner('example.com/witness', generateKeyPairSync('ed25519').privateKey);
    const byOther = signNote(parseNote(c), [other]);
    expect(codeOf(() => openCheckpoint(byOther, [other.verifierKey()], LOG.origin))).toBe('UNKNOWN_KEY');
  });
});

describe('parseCheckpoint', () => {
  const root = 'rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=';
  const ok: [string, number][] = [
    ['0', 0],
    ['1', 1],
    ['20852163', 20852163],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ];
  for (const [size, n] of ok) {
    it(`accepts tree size ${size}`, () => {
      expect(parseCheckpoint(`o\n${size}\n${root}\n`).treeSize).toBe(n);
    });
  }

  it('rejects tree sizes above 2^53-1 with a message that says why', () => {
    for (const size of ['9007199254740992', '18446744073709551615', '1'.repeat(400)]) {
      expect(() => parseCheckpoint(`o\n${size}\n${root}\n`)).toThrow(/2\^53-1.*safe integers/);
    }
  });

  const bad: [string, string][] = [
    ['leading zero', `o\n01\n${root}\n`],
    ['double zero', `o\n00\n${root}\n`],
    ['sign', `o\n+1\n${root}\n`],
    ['negative', `o\n-1\n${root}\n`],
    ['space', `o\n 1\n${root}\n`],
    ['decimal point', `o\n1.0\n${root}\n`],
    ['hex', `o\n0x1\n${root}\n`],
    ['empty size', `o\n\n${root}\n`],
    ['empty origin', `\n1\n${root}\n`],
    ['short root', `o\n1\n${root.slice(0, -4)}\n`],
    ['root not canonical', `o\n1\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cv=\n`],
    ['root hex', `o\n1\n${'00'.repeat(32)}\n`],
    ['two lines', `o\n1\n`],
    ['no final newline', `o\n1\n${root}`],
    ['empty extension line', `o\n1\n${root}\n\next\n`],
    ['CR', `o\r\n1\n${root}\n`],
  ];
  for (const [name, text] of bad) {
    it(`rejects ${name}`, () => expect(codeOf(() => parseCheckpoint(text))).toBe('MALFORMED_CHECKPOINT'));
  }

  it('keeps extension lines and round-trips them', () => {
    const text = `o\n1\n${root}\next one\next two\n`;
    const cp = parseCheckpoint(text);
    expect(cp.extensions).toEqual(['ext one', 'ext two']);
    expect(formatCheckpoint(cp)).toBe(text);
  });

  it('refuses to format invalid checkpoints', () => {
    const cp = parseCheckpoint(`o\n1\n${root}\n`);
    expect(codeOf(() => formatCheckpoint({ ...cp, treeSize: 2 ** 53 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => formatCheckpoint({ ...cp, treeSize: 1.5 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => formatCheckpoint({ ...cp, rootHash: new Uint8Array(31) }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => formatCheckpoint({ ...cp, origin: 'a\nb' }))).toBe('INVALID_ARGUMENT');
  });
});

describe('tlog-cosignature v1', () => {
  const witness = V.cases.find((c) => c.name === 'sunlight-witness-cosignature-v1')!;

  it('builds the exact signed message of the Sunlight vector', () => {
    const text = parseNote(witness.note).textBytes;
    const msg = cosignatureMessage(text, witness.cosignature!.timestamp);
    expect(new TextDecoder().decode(msg)).toBe(witness.cosignature!.signedMessage);
  });

  it('requires the log signature even when a witness cosignature verifies', () => {
    // The Sunlight log signs with an RFC 6962 TreeHeadSignature (type 0x05), unknown here.
    expect(codeOf(() => openCheckpoint(witness.note, witness.verifierKeys, 'rome2026h1.example.org'))).toBe(
      'UNKNOWN_KEY',
    );
  });

  const logSigner = parseSignerKey(tesseraSignerKey(LOG));
  const { privateKey } = generateKeyPairSync('ed25519');
  const cosigner = new CosignatureSigner('witness.custos.example', privateKey, () => 1_767_139_200);
  const wkey = {
    name: cosigner.name,
    keyId: cosigner.keyId,
    type: cosigner.type,
    publicKey: cosigner.publicKey,
  };

  it('cosigns a checkpoint; both log signature and cosignature verify', () => {
    const cosigned = cosignCheckpoint(LOG.checkpoints[15]!.checkpoint, [cosigner]);
    const opened = openCheckpoint(cosigned, [LOG.verifierKey, formatVerifierKey(wkey)], LOG.origin);
    expect(opened.cosignatures).toEqual([
      { name: cosigner.name, keyId: cosigner.keyId, type: 0x04, timestamp: 1_767_139_200 },
    ]);
    expect(keyLabel(opened.logSignature)).toBe(keyLabel(logSigner));
    // Re-cosigning replaces the old cosignature rather than adding a second one.
    expect(parseNote(cosignCheckpoint(cosigned, [cosigner])).signatures).toHaveLength(2);
  });

  it('fails on every single-bit flip of the cosignature bytes (timestamp and signature)', () => {
    const cosigned = cosignCheckpoint(LOG.checkpoints[15]!.checkpoint, [cosigner]);
    const note = parseNote(cosigned);
    const sig = note.signatures[1]!;
    expect(sig.signature).toHaveLength(COSIGNATURE_V1_BYTES);
    for (let i = 0; i < sig.signature.length * 8; i++) {
      const s = sig.signature.slice();
      s[i >> 3]! ^= 1 << (i & 7);
      const tampered = { ...note, signatures: [note.signatures[0]!, { ...sig, signature: s }] };
      const text = `${tampered.text}\n${cosignedLines(tampered.signatures)}`;
      expect(codeOf(() => openNote(text, [LOG.verifierKey, wkey]))).toBe('SIGNATURE_INVALID');
    }
  });

  it('rejects a cosignature of the wrong length from a known witness', () => {
    const cosigned = cosignCheckpoint(LOG.checkpoints[15]!.checkpoint, [cosigner]);
    const note = parseNote(cosigned);
    const short = { ...note.signatures[1]!, signature: note.signatures[1]!.signature.subarray(0, 71) };
    const text = `${note.text}\n${cosignedLines([note.signatures[0]!, short])}`;
    expect(codeOf(() => openNote(text, [wkey]))).toBe('SIGNATURE_INVALID');
  });

  it('refuses a plain Ed25519 signer as a cosigner and vice versa', () => {
    expect(codeOf(() => cosignCheckpoint(LOG.checkpoints[1]!.checkpoint, [logSigner]))).toBe(
      'INVALID_ARGUMENT',
    );
    const cp = parseCheckpoint(parseNote(LOG.checkpoints[1]!.checkpoint).text);
    expect(codeOf(() => signCheckpoint(cp, cosigner))).toBe('INVALID_ARGUMENT');
  });

  it('never reveals the witness key', () => {
    expect(JSON.stringify({ cosigner })).toBe(`{"cosigner":"CosignatureSigner(witness.custos.example)"}`);
  });
});

function cosignedLines(sigs: readonly { name: string; keyId: number; signature: Uint8Array }[]): string {
  return sigs
    .map((s) => {
      const raw = Buffer.alloc(4 + s.signature.length);
      raw.writeUInt32BE(s.keyId, 0);
      raw.set(s.signature, 4);
      return `\u2014 ${s.name} ${raw.toString('base64')}\n`;
    })
    .join('');
}
