import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CustosError, type CustosErrorCode } from '../errors.js';
import { MAX_NOTE_BYTES, MAX_NOTE_SIGNATURES } from './limits.js';
import { formatKeyId, type KeyId } from './key-id.js';
import { Ed25519NoteSigner, parseSignerKey } from './signer.js';
import { formatNote, keyLabel, openNote, parseNote, signNote } from './signed-note.js';
import { fixtureUrl, type SignedNoteVectors } from './test-vectors.js';
import { createNoteVerifier, NoteVerifierSet } from './verifier.js';
import { parseVerifierKey, type VerifierKey } from './verifier-key.js';

const V = JSON.parse(readFileSync(fixtureUrl('signed-notes.json'), 'utf8')) as SignedNoteVectors;
const PETER_SKEY = V.keyMaterialNotes['PeterNeumann skey (public TEST key from Go tests)']!;
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";

function codeOf(f: () => unknown): CustosErrorCode | 'ok' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof CustosError) return e.code;
    throw e;
  }
}

/** Exact outcome of verifying each vector with exactly its verifier keys. */
const EXPECTED: Record<string, CustosErrorCode | 'ok'> = {
  'c2sp-spec-example': 'ok',
  'go-peter-valid': 'ok',
  'go-peter-and-enoch-both-known': 'ok',
  'go-peter-known-enoch-unknown-ignored': 'ok',
  'go-no-known-keys': 'UNKNOWN_KEY',
  'go-corrupted-signature-from-known-key': 'SIGNATURE_INVALID',
  'derived-tampered-text': 'SIGNATURE_INVALID',
  // Custos refuses a verifier key whose ID does not match its key (below: as unknown, it also fails).
  'derived-wrong-keyid-is-unknown': 'MALFORMED_VERIFIER_KEY',
  'go-missing-blank-line-malformed': 'MALFORMED_NOTE',
  'sunlight-witness-cosignature-v1': 'ok',
  'sunlight-witness2-cosignature-v1': 'ok',
  'derived-cosignature-wrong-timestamp': 'SIGNATURE_INVALID',
  'tessera-checkpoint-size-15': 'ok',
  'derived-tessera-checkpoint-root-tampered': 'SIGNATURE_INVALID',
};

describe('signed-note vectors', () => {
  it('covers every case in the fixture', () => {
    expect(V.cases.map((c) => c.name).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const c of V.cases) {
    it(`${c.name}: ${EXPECTED[c.name]}`, () => {
      const outcome = codeOf(() => openNote(c.note, c.verifierKeys.map(parseVerifierKey)));
      expect(outcome).toBe(EXPECTED[c.name]);
      expect(outcome === 'ok').toBe(c.expect);
      if (outcome === 'ok') {
        const opened = openNote(new TextEncoder().encode(c.note), c.verifierKeys);
        expect(opened.verified.map(keyLabel)).toEqual(c.expectVerifiedBy);
        if (c.cosignature !== undefined) expect(opened.verified[0]!.timestamp).toBe(c.cosignature.timestamp);
        // Parsing and re-formatting is the identity on valid notes.
        expect(formatNote(parseNote(c.note))).toBe(c.note);
      }
    });
  }

  it('treats a known name with a different key ID as unknown', () => {
    const c = V.cases.find((x) => x.name === 'derived-wrong-keyid-is-unknown')!;
    const real = parseVerifierKey(PETER_VKEY);
    const wrongId: VerifierKey = { ...real, keyId: 0xc74f20a4 as KeyId };
    expect(codeOf(() => openNote(c.note, [createNoteVerifier(wrongId)]))).toBe('UNKNOWN_KEY');
  });

  it('keeps unknown signatures as unverified and reports each key once', () => {
    const c = V.cases.find((x) => x.name === 'go-peter-known-enoch-unknown-ignored')!;
    const opened = openNote(c.note, c.verifierKeys);
    expect(opened.unverified.map(keyLabel)).toEqual(['EnochRoot+af0cfe78']);
    expect(opened.text).toBe(GO_TEXT);
  });

  it('the Go test key reproduces the published signature byte for byte', () => {
    const signer = parseSignerKey(PETER_SKEY);
    const c = V.cases.find((x) => x.name === 'go-peter-valid')!;
    expect(signNote(GO_TEXT, [signer])).toBe(c.note);
    expect(formatKeyId(signer.keyId)).toBe('c74f20a3');
  });

  it('adds a signature after existing ones and replaces one by the same key', () => {
    const c = V.cases.find((x) => x.name === 'go-peter-and-enoch-both-known')!;
    const peter = parseSignerKey(PETER_SKEY);
    const resigned = signNote(parseNote(c.note), [peter]);
    const lines = resigned.split('\n').filter((l) => l.startsWith('\u2014'));
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['EnochRoot', 'PeterNeumann']);
    expect(openNote(resigned, c.verifierKeys).verified).toHaveLength(2);
  });
});

describe('sign and open round trips', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const signer = new Ed25519NoteSigner('custos.example/acme', privateKey);
  const vkey = signer.verifierKey();
  const texts = ['a\n', 'two\nlines\n', 'blank\n\ninside\n', 'trailing blank\n\n', 'ünïcødé ✓ 𝄞\n', '\n'];

  for (const text of texts) {
    it(`round-trips ${JSON.stringify(text)}`, () => {
      const note = signNote(text, [signer]);
      const opened = openNote(note, [vkey]);
      expect(opened.text).toBe(text);
      expect(opened.verified.map(keyLabel)).toEqual([keyLabel(signer)]);
    });
  }

  it('fails on every single-bit flip of the note (text, separator, signature line)', () => {
    const note = new TextEncoder().encode(signNote('custos.example/acme\n42\nsome text\n', [signer]));
    const verifiers = new NoteVerifierSet([vkey]);
    for (let i = 0; i < note.length; i++) {
      for (let b = 0; b < 8; b++) {
        const m = note.slice();
        m[i]! ^= 1 << b;
        expect(() => openNote(m, verifiers), `byte ${i} bit ${b}`).toThrow(CustosError);
      }
    }
  });

  it('fails on every single-bit flip of the public key or key ID of the verifier', () => {
    const note = signNote('hello\n', [signer]);
    for (let i = 0; i < 32 * 8; i++) {
      const pk = vkey.publicKey.slice();
      pk[i >> 3]! ^= 1 << (i & 7);
      const code = codeOf(() => openNote(note, [createNoteVerifier({ ...vkey, publicKey: pk })]));
      expect(['SIGNATURE_INVALID', 'MALFORMED_VERIFIER_KEY']).toContain(code);
    }
    for (let b = 0; b < 32; b++) {
      const keyId = ((vkey.keyId ^ (1 << b)) >>> 0) as KeyId;
      expect(codeOf(() => openNote(note, [createNoteVerifier({ ...vkey, keyId })]))).toBe('UNKNOWN_KEY');
    }
  });

  it('rejects a note where a second line by the same known key is bad', () => {
    const good = signNote('x\n', [signer]);
    const line = good.split('\n')[2]!;
    const bad = line.slice(0, -6) + (line.slice(-6, -5) === 'A' ? 'B' : 'A') + line.slice(-5);
    expect(codeOf(() => openNote(`${good}${bad}\n`, [vkey]))).not.toBe('ok');
  });

  it('rejects ambiguous verifier sets but tolerates duplicates', () => {
    const other = new Ed25519NoteSigner('custos.example/acme', generateKeyPairSync('ed25519').privateKey);
    expect(new NoteVerifierSet([vkey, vkey]).size).toBe(1);
    expect(codeOf(() => new NoteVerifierSet([vkey, { ...other.verifierKey(), keyId: vkey.keyId }]))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('never reveals the private key in JSON or inspection', () => {
    expect(JSON.stringify({ signer })).not.toMatch(/PRIVATE|[A-Za-z0-9+/]{40}/);
    expect(
      String(
        (signer as unknown as Record<symbol, () => string>)[Symbol.for('nodejs.util.inspect.custom')]!(),
      ),
    ).toBe(signer.toJSON());
  });
});

describe('parseNote rejects malformed notes', () => {
  const peter = parseSignerKey(PETER_SKEY);
  const good = signNote(GO_TEXT, [peter]);
  const sigLine = good.slice(GO_TEXT.length + 1);
  const cases: [string, string | Uint8Array][] = [
    ['empty', ''],
    ['no signatures', `${GO_TEXT}\n`],
    ['missing final newline', good.slice(0, -1)],
    ['CR line endings', good.replaceAll('\n', '\r\n')],
    ['CR inside text', `a\rb\n\n${sigLine}`],
    ['tab in text', `a\tb\n\n${sigLine}`],
    ['NUL in text', `a\u0000b\n\n${sigLine}`],
    ['hyphen instead of em dash', `${GO_TEXT}\n-${sigLine.slice(1)}`],
    ['en dash instead of em dash', `${GO_TEXT}\n\u2013${sigLine.slice(1)}`],
    ['no space after dash', `${GO_TEXT}\n\u2014${sigLine.slice(2)}`],
    ['no signature after name', `${GO_TEXT}\n\u2014 PeterNeumann\n`],
    ['empty signature', `${GO_TEXT}\n\u2014 PeterNeumann \n`],
    ['signature too short', `${GO_TEXT}\n\u2014 PeterNeumann AAAAAA==\n`],
    ['non-canonical base64 padding bits', `${GO_TEXT}\n\u2014 PeterNeumann AAAAAAB=\n`],
    [
      'base64 without padding',
      `${GO_TEXT}\n\u2014 PeterNeumann ${sigLine.split(' ')[2]!.replace(/=+\n$/, '')}\n`,
    ],
    ['url-safe base64', `${GO_TEXT}\n\u2014 PeterNeumann AAAAAA__\n`],
    ['plus in key name', `${GO_TEXT}\n\u2014 Peter+Neumann ${sigLine.split(' ')[2]!}`],
    ['no-break space in key name', `${GO_TEXT}\n\u2014 Peter\u00a0Neumann ${sigLine.split(' ')[2]!}`],
    ['two spaces', `${GO_TEXT}\n\u2014 PeterNeumann  ${sigLine.split(' ')[2]!}`],
    ['invalid UTF-8', new Uint8Array([...new TextEncoder().encode(good).slice(0, 10), 0xff, 0x0a, 0x0a])],
    ['overlong UTF-8', Uint8Array.from([0xc0, 0xaf, 0x0a, 0x0a, ...new TextEncoder().encode(sigLine)])],
    ['lone surrogate', `a\ud800\n\n${sigLine}`],
  ];
  for (const [name, input] of cases) {
    it(name, () => {
      expect(codeOf(() => parseNote(input))).toBe('MALFORMED_NOTE');
    });
  }

  it('splits at the LAST blank line, so an earlier signature line becomes text', () => {
    const note = `${good}\n${sigLine}`;
    expect(parseNote(note).text).toBe(`${good}`);
    expect(codeOf(() => openNote(note, [PETER_VKEY]))).toBe('SIGNATURE_INVALID');
  });

  it(`accepts ${MAX_NOTE_SIGNATURES} signatures and rejects one more`, () => {
    const many = `${GO_TEXT}\n${sigLine.repeat(MAX_NOTE_SIGNATURES)}`;
    expect(parseNote(many).signatures).toHaveLength(MAX_NOTE_SIGNATURES);
    expect(openNote(many, [PETER_VKEY]).verified).toHaveLength(1);
    expect(codeOf(() => parseNote(`${many}${sigLine}`))).toBe('MALFORMED_NOTE');
  });

  it('rejects oversized notes before decoding', () => {
    expect(codeOf(() => parseNote(new Uint8Array(MAX_NOTE_BYTES + 1)))).toBe('OVERSIZED_INPUT');
  });

  it('accepts DEL and a BOM, which the spec does not forbid, and keeps the BOM in the text', () => {
    const text = '\ufeffdel\u007f\n';
    const note = new TextEncoder().encode(signNote(text, [peter]));
    expect(openNote(note, [PETER_VKEY]).text).toBe(text);
  });

  it('refuses to format or sign text that is not a valid note text', () => {
    expect(codeOf(() => signNote('no newline', [peter]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => signNote('cr\r\n', [peter]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => formatNote({ text: 'a\n', signatures: [] }))).toBe('INVALID_ARGUMENT');
  });
});
