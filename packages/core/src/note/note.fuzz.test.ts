import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fuzzParser, utf8 } from '../testing/fuzz.js';
import { hashLeaf } from '../tlog/index.js';
import { openCheckpoint, parseCheckpoint } from './checkpoint.js';
import { formatReceipt, parseReceipt, verifyReceipt } from './receipt.js';
import { openNote, parseNote } from './signed-note.js';
import { parseSignerKey } from './signer.js';
import { fixtureUrl, hex, type SignedNoteVectors, type TesseraLog } from './test-vectors.js';
import { formatLogOrigin, parseLogOrigin } from './log-origin.js';
import { parseVerifierKey } from './verifier-key.js';
import { NoteVerifierSet } from './verifier.js';

const V = JSON.parse(readFileSync(fixtureUrl('signed-notes.json'), 'utf8')) as SignedNoteVectors;
const LOG = JSON.parse(readFileSync(fixtureUrl('tessera-testdata-log.json'), 'utf8')) as TesseraLog;
const latin1 = new TextDecoder('utf-8'); // non-fatal: turns random bytes into strings with U+FFFD
const asText = (b: Uint8Array): string => latin1.decode(b);

const noteSeeds = [...V.cases.map((c) => utf8(c.note)), ...LOG.checkpoints.map((c) => utf8(c.checkpoint))];
const allKeys = [...new Set([...V.cases.flatMap((c) => c.verifierKeys), LOG.verifierKey])].filter((k) => {
  try {
    parseVerifierKey(k);
    return true;
  } catch {
    return false;
  }
});
// Built once, as real callers do: importing keys costs far more than verifying a note.
const vectorKeys = new NoteVerifierSet(allKeys);
const logKeys = new NoteVerifierSet([LOG.verifierKey]);
const receipts = LOG.inclusionProofs.map((p) =>
  utf8(
    formatReceipt({
      index: p.leafIndex,
      proof: p.proof.map(hex),
      checkpoint: LOG.checkpoints[p.treeSize]!.checkpoint,
      ...(p.leafIndex % 2 === 0 ? { extra: utf8('context') } : {}),
    }),
  ),
);

function check(report: ReturnType<typeof fuzzParser>, mustAccept = true): void {
  expect(report.failures).toEqual([]);
  if (mustAccept) expect(report.accepted).toBeGreaterThan(0);
}

describe('fuzz: note-family parsers return or throw CustosError, never hang', () => {
  it('parseNote (bytes and text)', () => {
    check(fuzzParser((b) => parseNote(b), noteSeeds, { seed: 1 }));
    check(fuzzParser((b) => parseNote(asText(b)), noteSeeds, { seed: 2 }));
  });

  it('openNote with every vector key', () => {
    check(fuzzParser((b) => openNote(b, vectorKeys), noteSeeds, { seed: 3 }));
  });

  it('parseVerifierKey and parseSignerKey', () => {
    check(fuzzParser((b) => parseVerifierKey(asText(b)), allKeys.map(utf8), { seed: 4 }));
    const skeys = [
      V.keyMaterialNotes['PeterNeumann skey (public TEST key from Go tests)']!,
      'PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg',
    ];
    check(fuzzParser((b) => parseSignerKey(asText(b)), skeys.map(utf8), { seed: 5 }));
  });

  it('parseCheckpoint and openCheckpoint', () => {
    const texts = LOG.checkpoints.map((c) => utf8(parseNote(c.checkpoint).text));
    check(fuzzParser((b) => parseCheckpoint(b), texts, { seed: 6 }));
    check(fuzzParser((b) => openCheckpoint(b, logKeys, LOG.origin), noteSeeds, { seed: 7 }));
  });

  it('parseReceipt and verifyReceipt', () => {
    check(fuzzParser((b) => parseReceipt(b), receipts, { seed: 8 }));
    const leaf = hashLeaf(hex(LOG.entries[0]!.hex));
    // Mutations almost never yield a valid proof for this leaf, so acceptance is not required.
    check(
      fuzzParser((b) => verifyReceipt(b, leaf, logKeys, LOG.origin), receipts, { seed: 9 }),
      false,
    );
  });

  it('parseLogOrigin, and what it accepts formats back to the same origin', () => {
    const seeds = ['custos.example/acme-7f3a', 'localhost:8443/org_1/2031', 'a.b-c.d/X'].map(utf8);
    const report = fuzzParser(
      (b) => {
        const origin = asText(b);
        if (formatLogOrigin(parseLogOrigin(origin)) !== origin) throw new Error(`not canonical: ${origin}`);
      },
      seeds,
      { seed: 10, maxLength: 128 },
    );
    check(report);
  });
});
