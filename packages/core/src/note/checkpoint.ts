/**
 * c2sp.org/tlog-checkpoint: the note text of a log's signed tree head.
 *
 *     <origin>\n
 *     <tree size, decimal, no leading zeros>\n
 *     <base64 root hash, 32 bytes>\n
 *     [<extension line>\n]*
 *
 * Tree sizes are JS safe integers (< 2^53) throughout Custos; a larger size is rejected
 * with a message that says so rather than silently losing precision.
 */
import { CustosError } from '../errors.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { SIGNATURE_TYPE_COSIGNATURE_V1, SIGNATURE_TYPE_ED25519 } from './key-id.js';
import { decodeNoteText, type TextInput } from './note-text.js';
import { parseNote, signNote, verifyParsedNote, type OpenedNote, type ParsedNote } from './signed-note.js';
import type { NoteSigner } from './signer.js';
import type { VerifiedSignature, VerifiersInput } from './verifier.js';

/** Length of a SHA-256 Merkle tree hash. */
export const TREE_HASH_BYTES = 32;

/** The parsed body of a checkpoint. */
export interface Checkpoint {
  /** Log identity; in Custos, also the log key's name. */
  readonly origin: string;
  /** Number of leaves, a safe integer. */
  readonly treeSize: number;
  /** RFC 6962 root hash at `treeSize` (32 bytes). */
  readonly rootHash: Uint8Array;
  /** Opaque, non-empty extension lines (Custos signs none; kept for interoperability). */
  readonly extensions: readonly string[];
}

/** A checkpoint whose log signature verified, with any verified witness cosignatures. */
export interface OpenedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly note: OpenedNote;
  /** The verified log signature (type 0x01, key name = origin). */
  readonly logSignature: VerifiedSignature;
  /** Verified witness cosignatures (type 0x04), one per witness key. */
  readonly cosignatures: readonly VerifiedSignature[];
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
/** 2^53 - 1 has 16 digits; anything longer is out of range before parsing. */
const MAX_SAFE_DIGITS = 16;

function malformed(message: string): CustosError {
  return new CustosError('MALFORMED_CHECKPOINT', `checkpoint: ${message}`);
}

/** Parses a decimal safe integer with no leading zeros; `what` names the field in errors. */
export function parseSafeDecimal(s: string, what: string, fail: (m: string) => CustosError): number {
  if (!DECIMAL.test(s)) throw fail(`${what} must be a decimal number without leading zeros`);
  const n = s.length > MAX_SAFE_DIGITS ? Infinity : Number(s);
  if (!Number.isSafeInteger(n)) {
    throw fail(
      `${what} exceeds 2^53-1, the largest number Custos handles (log numbers are JS safe integers)`,
    );
  }
  return n;
}

/** Parses checkpoint note text (the part before the blank line, ending in a newline). */
export function parseCheckpoint(input: TextInput): Checkpoint {
  return parseCheckpointText(decodeNoteText(input, 'MALFORMED_CHECKPOINT', 'checkpoint').text);
}

/** {@link parseCheckpoint} for text already checked by {@link parseNote} (module-internal). */
export function parseCheckpointText(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw malformed('text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw malformed('needs origin, tree size and root hash lines');
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw malformed('origin line is empty');
  const treeSize = parseSafeDecimal(size, 'tree size', malformed);
  const rootHash = decodeBase64(root);
  if (rootHash === undefined || rootHash.length !== TREE_HASH_BYTES) {
    throw malformed('root hash must be canonical base64 of 32 bytes');
  }
  if (extensions.some((e) => e.length === 0)) throw malformed('extension lines must be non-empty');
  return { origin, treeSize, rootHash, extensions };
}

/** Formats a checkpoint's note text. */
export function formatCheckpoint(cp: Checkpoint): string {
  const bad = (m: string): CustosError => new CustosError('INVALID_ARGUMENT', `checkpoint: ${m}`);
  if (cp.origin.length === 0 || cp.origin.includes('\n')) throw bad('origin must be one non-empty line');
  if (!Number.isSafeInteger(cp.treeSize) || cp.treeSize < 0)
    throw bad('tree size must be a safe integer >= 0');
  if (cp.rootHash.length !== TREE_HASH_BYTES) throw bad('root hash must be 32 bytes');
  if (cp.extensions.some((e) => e.length === 0 || e.includes('\n')))
    throw bad('extension lines must be non-empty lines');
  const text =
    [cp.origin, String(cp.treeSize), encodeBase64(cp.rootHash), ...cp.extensions].join('\n') + '\n';
  decodeNoteText(text, 'INVALID_ARGUMENT', 'checkpoint');
  return text;
}

/** Signs a checkpoint with the log's signer (whose name must be the origin) and returns the note. */
export function signCheckpoint(cp: Checkpoint, logSigner: NoteSigner): string {
  if (logSigner.name !== cp.origin || logSigner.type !== SIGNATURE_TYPE_ED25519) {
    throw new CustosError(
      'INVALID_ARGUMENT',
      'the log key must be Ed25519 and named after the checkpoint origin',
    );
  }
  return signNote(formatCheckpoint(cp), [logSigner]);
}

/**
 * Verifies a signed checkpoint: well-formed, origin equal to `expectedOrigin`, signed by
 * a known Ed25519 key named `expectedOrigin`, and every known-key signature (log or
 * witness) valid. Returns the checkpoint and the verified cosignatures; the caller
 * applies its own witness quorum.
 */
export function openCheckpoint(
  noteBytes: TextInput,
  verifiers: VerifiersInput,
  expectedOrigin: string,
): OpenedCheckpoint {
  const parsed = parseNote(noteBytes);
  return openParsedCheckpoint(parsed, parseCheckpointText(parsed.text), verifiers, expectedOrigin);
}

/** {@link openCheckpoint} for a note and checkpoint already parsed (module-internal). */
export function openParsedCheckpoint(
  parsed: ParsedNote,
  checkpoint: Checkpoint,
  verifiers: VerifiersInput,
  expectedOrigin: string,
): OpenedCheckpoint {
  if (checkpoint.origin !== expectedOrigin) {
    throw malformed(`origin is not the expected ${JSON.stringify(expectedOrigin)}`);
  }
  const note = verifyParsedNote(parsed, verifiers);
  const logSignature = note.verified.find(
    (v) => v.name === expectedOrigin && v.type === SIGNATURE_TYPE_ED25519,
  );
  if (logSignature === undefined) {
    throw new CustosError(
      'UNKNOWN_KEY',
      `checkpoint is not signed by a known log key for ${JSON.stringify(expectedOrigin)}`,
    );
  }
  const cosignatures = note.verified.filter((v) => v.type === SIGNATURE_TYPE_COSIGNATURE_V1);
  return { checkpoint, note, logSignature, cosignatures };
}

/**
 * Adds the cosigner's signatures to a signed checkpoint note (keeping every existing
 * line, replacing an older cosignature by the same key). The caller MUST have verified
 * the checkpoint and its consistency before cosigning.
 */
export function cosignCheckpoint(noteBytes: TextInput, cosigners: readonly NoteSigner[]): string {
  const parsed = parseNote(noteBytes);
  parseCheckpointText(parsed.text);
  if (cosigners.some((c) => c.type !== SIGNATURE_TYPE_COSIGNATURE_V1)) {
    throw new CustosError('INVALID_ARGUMENT', 'cosigners must use signature type 0x04');
  }
  return signNote(parsed, cosigners);
}
