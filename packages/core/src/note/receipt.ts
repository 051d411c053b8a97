/**
 * c2sp.org/tlog-proof@v1 receipts: an offline-verifiable proof that an entry is in a log.
 *
 *     c2sp.org/tlog-proof@v1\n
 *     [extra <base64 extra data>\n]
 *     index <leaf index, decimal, no leading zeros>\n
 *     [<base64 proof hash>\n]*          (leaf's sibling first, up to the root's child)
 *     \n
 *     <signed checkpoint note, verbatim>
 */
import { CustosError } from '../errors.js';
import { verifyInclusion } from '../tlog/index.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import {
  openParsedCheckpoint,
  parseCheckpointText,
  parseSafeDecimal,
  TREE_HASH_BYTES,
  type Checkpoint,
  type OpenedCheckpoint,
} from './checkpoint.js';
import { MAX_PROOF_HASHES, MAX_RECEIPT_BYTES, MAX_RECEIPT_EXTRA_BYTES } from './limits.js';
import { decodeNoteText, type TextInput } from './note-text.js';
import { parseNote, type ParsedNote } from './signed-note.js';
import type { VerifiersInput } from './verifier.js';

/** First line of every v1 receipt. */
export const RECEIPT_HEADER = 'c2sp.org/tlog-proof@v1';

/** A parsed receipt. The checkpoint stays a verbatim signed note so it can be re-verified. */
export interface Receipt {
  /** Optional unauthenticated application data; MUST NOT be trusted. */
  readonly extra?: Uint8Array;
  /** Zero-based index of the entry in the log. */
  readonly index: number;
  /** Inclusion proof hashes (32 bytes each), leaf's sibling first. */
  readonly proof: readonly Uint8Array[];
  /** The signed checkpoint note, exactly as issued (ends with a newline). */
  readonly checkpoint: string;
}

/** What a verified receipt proves. */
export interface VerifiedReceipt extends OpenedCheckpoint {
  readonly index: number;
}

function malformed(message: string): CustosError {
  return new CustosError('MALFORMED_RECEIPT', `receipt: ${message}`);
}

function parseHash(line: string, n: number): Uint8Array {
  const h = decodeBase64(line);
  if (h === undefined || h.length !== TREE_HASH_BYTES) {
    throw malformed(`proof line ${n} must be canonical base64 of a 32-byte hash`);
  }
  return h;
}

/** Parses a receipt, including the syntax of its checkpoint (not its signatures). */
export function parseReceipt(input: TextInput): Receipt {
  return parseReceiptParts(input).receipt;
}

interface ReceiptParts {
  readonly receipt: Receipt;
  readonly note: ParsedNote;
  readonly checkpoint: Checkpoint;
}

function parseCheckpointNote(checkpoint: string): { note: ParsedNote; checkpoint: Checkpoint } {
  try {
    const note = parseNote(checkpoint);
    return { note, checkpoint: parseCheckpointText(note.text) };
  } catch (cause) {
    const what = cause instanceof CustosError ? cause.message : 'invalid';
    throw new CustosError('MALFORMED_RECEIPT', `receipt: checkpoint is malformed (${what})`, { cause });
  }
}

function parseReceiptParts(input: TextInput): ReceiptParts {
  if (input.length > MAX_RECEIPT_BYTES) {
    throw new CustosError('OVERSIZED_INPUT', `receipt is larger than ${MAX_RECEIPT_BYTES} bytes`);
  }
  const { text } = decodeNoteText(input, 'MALFORMED_RECEIPT', 'receipt');
  const blank = text.indexOf('\n\n');
  if (blank < 0) throw malformed('no blank line before the checkpoint');
  const lines = text.slice(0, blank).split('\n');
  const checkpoint = text.slice(blank + 2);
  let at = 0;
  if (lines[at++] !== RECEIPT_HEADER) throw malformed(`first line must be ${RECEIPT_HEADER}`);
  let extra: Uint8Array | undefined;
  if (lines[at]?.startsWith('extra ')) {
    const b64 = lines[at++]!.slice('extra '.length);
    if (b64.length > Math.ceil(MAX_RECEIPT_EXTRA_BYTES / 3) * 4) {
      throw malformed(`extra data is larger than ${MAX_RECEIPT_EXTRA_BYTES} bytes`);
    }
    extra = decodeBase64(b64);
    if (extra === undefined || extra.length === 0)
      throw malformed('extra data must be non-empty canonical base64');
  }
  const indexLine = lines[at++];
  if (indexLine === undefined || !indexLine.startsWith('index ')) throw malformed("missing 'index <n>' line");
  const index = parseSafeDecimal(indexLine.slice('index '.length), 'index', malformed);
  const proofLines = lines.slice(at);
  if (proofLines.length > MAX_PROOF_HASHES) throw malformed(`more than ${MAX_PROOF_HASHES} proof hashes`);
  const proof = proofLines.map((l, i) => parseHash(l, i + 1));
  const parts = parseCheckpointNote(checkpoint);
  const receipt = extra === undefined ? { index, proof, checkpoint } : { extra, index, proof, checkpoint };
  return { receipt, ...parts };
}

/** Formats a receipt. */
export function formatReceipt(receipt: Receipt): string {
  const bad = (m: string): CustosError => new CustosError('INVALID_ARGUMENT', `receipt: ${m}`);
  if (!Number.isSafeInteger(receipt.index) || receipt.index < 0)
    throw bad('index must be a safe integer >= 0');
  if (receipt.proof.length > MAX_PROOF_HASHES) throw bad(`more than ${MAX_PROOF_HASHES} proof hashes`);
  if (receipt.proof.some((h) => h.length !== TREE_HASH_BYTES)) throw bad('proof hashes must be 32 bytes');
  if (
    receipt.extra !== undefined &&
    (receipt.extra.length === 0 || receipt.extra.length > MAX_RECEIPT_EXTRA_BYTES)
  ) {
    throw bad(`extra data must be 1-${MAX_RECEIPT_EXTRA_BYTES} bytes`);
  }
  try {
    parseCheckpointNote(receipt.checkpoint);
  } catch (cause) {
    throw new CustosError('INVALID_ARGUMENT', 'receipt: checkpoint is not a valid signed checkpoint', {
      cause,
    });
  }
  const head = [RECEIPT_HEADER];
  if (receipt.extra !== undefined) head.push(`extra ${encodeBase64(receipt.extra)}`);
  head.push(`index ${receipt.index}`, ...receipt.proof.map(encodeBase64));
  return `${head.join('\n')}\n\n${receipt.checkpoint}`;
}

/**
 * Verifies a receipt for the entry whose RFC 9162 leaf hash is `leafHash`: the checkpoint
 * is signed by the log key for `origin` (plus any known witnesses, all valid), and the
 * inclusion proof leads from the leaf at `index` to the checkpoint's root. Throws on any
 * failure (MALFORMED_*, SIGNATURE_INVALID, UNKNOWN_KEY, INVALID_LEAF_INDEX, INVALID_PROOF).
 */
export function verifyReceipt(
  receipt: Receipt | TextInput,
  leafHash: Uint8Array,
  verifiers: VerifiersInput,
  origin: string,
): VerifiedReceipt {
  const parts =
    typeof receipt === 'string' || receipt instanceof Uint8Array
      ? parseReceiptParts(receipt)
      : { receipt, ...parseCheckpointNote(receipt.checkpoint) };
  const r = parts.receipt;
  const opened = openParsedCheckpoint(parts.note, parts.checkpoint, verifiers, origin);
  const { treeSize, rootHash } = opened.checkpoint;
  verifyInclusion(leafHash, r.index, treeSize, r.proof, rootHash);
  return { ...opened, index: r.index };
}
