/**
 * c2sp.org/signed-note: parse, format, sign and open (verify) notes.
 *
 *     <text, ending in \n>
 *     \n
 *     — <key name> <base64(key ID (4 bytes, big-endian) || signature)>\n   (one or more)
 *
 * The text is everything up to and including the newline before the LAST blank line.
 */
import { CustosError } from '../errors.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { formatKeyId, keyIdBytes, readKeyId, type KeyId } from './key-id.js';
import { MAX_NOTE_BYTES, MAX_NOTE_SIGNATURES } from './limits.js';
import { decodeNoteText, isValidKeyName, utf8Bytes, type TextInput } from './note-text.js';
import type { NoteSigner } from './signer.js';
import { toVerifierSet, type VerifiedSignature, type VerifiersInput } from './verifier.js';

/** U+2014 EM DASH and a space: the prefix of every signature line. */
const SIGNATURE_PREFIX = '\u2014 ';

/** One signature line: who signed (name, key ID) and the bytes after the key ID. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: KeyId;
  readonly signature: Uint8Array;
}

/** A note's text and its signature lines, in order. */
export interface SignedNote {
  /** The signed text, including its final newline. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A syntactically valid note, with the exact UTF-8 bytes of its text. */
export interface ParsedNote extends SignedNote {
  readonly textBytes: Uint8Array;
}

/** A note whose known-key signatures all verified (at least one). */
export interface OpenedNote extends ParsedNote {
  /** One entry per distinct known key that signed. */
  readonly verified: readonly VerifiedSignature[];
  /** Signature lines from keys not in the verifier set (ignored, kept for re-serialising). */
  readonly unverified: readonly NoteSignature[];
}

function malformed(message: string): CustosError {
  return new CustosError('MALFORMED_NOTE', `signed note: ${message}`);
}

/**
 * Parses a signed note without verifying anything. Rejects non-UTF-8, control characters
 * other than newline (so also CR), a missing blank line, malformed signature lines, bad
 * key names, non-canonical base64, and more than {@link MAX_NOTE_SIGNATURES} signatures.
 */
export function parseNote(input: TextInput): ParsedNote {
  const size = typeof input === 'string' ? input.length : input.length;
  if (size > MAX_NOTE_BYTES) {
    throw new CustosError('OVERSIZED_INPUT', `signed note is larger than ${MAX_NOTE_BYTES} bytes`);
  }
  const { text: all, bytes } = decodeNoteText(input, 'MALFORMED_NOTE', 'signed note');
  if (bytes.length > MAX_NOTE_BYTES) {
    throw new CustosError('OVERSIZED_INPUT', `signed note is larger than ${MAX_NOTE_BYTES} bytes`);
  }
  const split = all.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line before the signatures');
  const text = all.slice(0, split + 1);
  const block = all.slice(split + 2);
  if (block.length === 0) throw malformed('no signature lines');
  if (!block.endsWith('\n')) throw malformed('does not end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures = lines.map((line, i) => parseSignatureLine(line, i + 1));
  // The text is a prefix of the input, so its bytes are a prefix of the input bytes; 0x0A
  // never occurs inside a multi-byte UTF-8 sequence, so the last "\n\n" is the same
  // boundary in bytes as in characters.
  const textBytes = typeof input === 'string' ? utf8Bytes(text) : bytes.subarray(0, lastBlankLine(bytes) + 1);
  return { text, textBytes, signatures };
}

function lastBlankLine(bytes: Uint8Array): number {
  for (let i = bytes.length - 2; i >= 0; i--) if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) return i;
  return -1;
}

function parseSignatureLine(line: string, n: number): NoteSignature {
  if (!line.startsWith(SIGNATURE_PREFIX)) {
    throw malformed(`signature line ${n} does not start with an em dash (U+2014) and a space`);
  }
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space < 0) throw malformed(`signature line ${n} has no space between key name and signature`);
  const name = rest.slice(0, space);
  if (!isValidKeyName(name)) throw malformed(`signature line ${n} has an invalid key name`);
  const raw = decodeBase64(rest.slice(space + 1));
  if (raw === undefined) throw malformed(`signature line ${n} is not canonical base64`);
  if (raw.length < 5) throw malformed(`signature line ${n} is shorter than a key ID and a signature`);
  return { name, keyId: readKeyId(raw), signature: raw.subarray(4) };
}

function formatSignatureLine(sig: NoteSignature): string {
  if (!isValidKeyName(sig.name)) throw new CustosError('INVALID_ARGUMENT', 'signed note: invalid key name');
  if (!Number.isInteger(sig.keyId) || sig.keyId < 0 || sig.keyId > 0xffffffff || sig.signature.length === 0) {
    throw new CustosError('INVALID_ARGUMENT', 'signed note: invalid key ID or empty signature');
  }
  const raw = new Uint8Array(4 + sig.signature.length);
  raw.set(keyIdBytes(sig.keyId), 0);
  raw.set(sig.signature, 4);
  return `${SIGNATURE_PREFIX}${sig.name} ${encodeBase64(raw)}\n`;
}

function assertText(text: string): Uint8Array {
  const { bytes } = decodeNoteText(text, 'INVALID_ARGUMENT', 'note text');
  if (!text.endsWith('\n')) throw new CustosError('INVALID_ARGUMENT', 'note text must end with a newline');
  return bytes;
}

/** Serialises a note; it must have at least one signature. */
export function formatNote(note: SignedNote): string {
  assertText(note.text);
  if (note.signatures.length === 0)
    throw new CustosError('INVALID_ARGUMENT', 'a signed note needs a signature');
  if (note.signatures.length > MAX_NOTE_SIGNATURES) {
    throw new CustosError('INVALID_ARGUMENT', `a signed note has at most ${MAX_NOTE_SIGNATURES} signatures`);
  }
  return `${note.text}\n${note.signatures.map(formatSignatureLine).join('')}`;
}

/**
 * Signs `note` (bare text, or a note whose signatures are kept) with each signer, and
 * serialises it. A new signature replaces an existing one by the same key; new
 * signatures follow the kept ones.
 */
export function signNote(note: string | SignedNote, signers: readonly NoteSigner[]): string {
  const base: SignedNote = typeof note === 'string' ? { text: note, signatures: [] } : note;
  const textBytes = assertText(base.text);
  const fresh = signers.map((s) => ({ name: s.name, keyId: s.keyId, signature: s.sign(textBytes) }));
  const replaced = new Set(fresh.map((s) => `${s.name}\n${s.keyId}`));
  const kept = base.signatures.filter((s) => !replaced.has(`${s.name}\n${s.keyId}`));
  return formatNote({ text: base.text, signatures: [...kept, ...fresh] });
}

/**
 * Parses and verifies a note against known keys (c2sp.org/signed-note semantics):
 * signatures from unknown (name, key ID) pairs are ignored; every signature from a known
 * key must verify, else SIGNATURE_INVALID; with no verified known-key signature the note
 * is rejected with UNKNOWN_KEY.
 */
export function openNote(input: TextInput, verifiers: VerifiersInput): OpenedNote {
  return verifyParsedNote(parseNote(input), verifiers);
}

/** {@link openNote} for a note already parsed by {@link parseNote} (module-internal). */
export function verifyParsedNote(note: ParsedNote, verifiers: VerifiersInput): OpenedNote {
  const set = toVerifierSet(verifiers);
  const verified: VerifiedSignature[] = [];
  const seen = new Set<string>();
  const unverified: NoteSignature[] = [];
  for (const sig of note.signatures) {
    const v = set.get(sig.name, sig.keyId);
    if (v === undefined) {
      unverified.push(sig);
      continue;
    }
    // Every line from a known key is checked, duplicates included: none may be bad.
    const ok = v.verify(note.textBytes, sig.signature);
    const id = `${sig.name}\n${sig.keyId}`;
    if (!seen.has(id)) {
      seen.add(id);
      verified.push(ok);
    }
  }
  if (verified.length === 0) {
    throw new CustosError('UNKNOWN_KEY', 'signed note has no signature from a known key');
  }
  return { ...note, verified, unverified };
}

/** `<name>+<hex key ID>`, the usual short form of a key in messages and tests. */
export function keyLabel(sig: { readonly name: string; readonly keyId: KeyId }): string {
  return `${sig.name}+${formatKeyId(sig.keyId)}`;
}
