/**
 * Gap declarations (docs/archive-format.md §6.1): a device's signed statement that a run
 * of its own chain, which the server does not hold, can never be uploaded — the records
 * left the device once the server had acknowledged them, and the server then lost them
 * (restored from an older backup). The server accepts a declaration only for exactly the
 * run it is missing, logs it as an `archive-gap` entry, and lets the chain continue from
 * the declared hash; the gap stays visible to officers and auditors for ever. Nothing is
 * lost silently: the alternative was a chain the server refused to extend, for good.
 *
 *   message  = "custos-archive-v1 gap-declaration" || 0x00
 *           || u16be(len(org))    || org      (ASCII)
 *           || u16be(len(device)) || device   (ASCII)
 *           || u64be(first)       first missing sequence number
 *           || u64be(last)        last missing sequence number (>= first)
 *           || prev               32 bytes: hash of record first-1 (zeros when first = 0)
 *           || resume             32 bytes: hash of record last, which record last+1 links to
 *           || u8(len(reason))    || reason   (ASCII, one of GAP_REASONS)
 *   document = message || signature   (64-byte XEdDSA by the device's identity key over message)
 *
 * `prev` ties the declaration to where the server's chain stops, `resume` to where the
 * device's goes on, so a declaration cannot be replayed onto another chain position.
 */
import type { PrivateKey } from '@signalapp/libsignal-client';
import { CustosError } from '../errors.js';
import type { ChainAnchor } from '../record/chain.js';
import type { DeviceId, OrgId, RecordHash } from '../record/ids.js';
import { toHex } from '../record/ids.js';
import { HASH_LENGTH, isWellFormedId } from '../record/ids.js';
import { MAX_SEQUENCE } from '../record/limits.js';
import { BATCH_SIGNATURE_LENGTH, identityPublicKey } from './batch-signature.js';

/** Domain-separation string that starts every gap declaration message (ASCII, then one 0x00). */
export const GAP_DECLARATION_DOMAIN = 'custos-archive-v1 gap-declaration';

/**
 * Why records cannot be sent again. `server-restored`: the server acknowledged them, the
 * device let them go, and the server was then restored from an older backup.
 * `device-lost`: the device lost them before they were acknowledged (its local store was
 * lost or restored). `bucket-disposed`: the records were sealed to a bucket whose keys were
 * destroyed under a disposition before they could be archived (the server refuses them,
 * BUCKET_DISPOSED); nobody can ever open them, and their retention had ended.
 */
export const GAP_REASONS = ['server-restored', 'device-lost', 'bucket-disposed'] as const;

/** One of {@link GAP_REASONS}. */
export type GapReason = (typeof GAP_REASONS)[number];

/** Largest encoded declaration document (two 255-byte ids at most; real ones are ~180). */
export const MAX_GAP_DECLARATION_BYTES = 1024;

/** What a device declares missing from its chain. */
export interface GapDeclaration {
  readonly org: OrgId;
  readonly device: DeviceId;
  /** First missing sequence number. */
  readonly firstSeq: number;
  /** Last missing sequence number (at least firstSeq). */
  readonly lastSeq: number;
  /** Hash of record firstSeq − 1 (zeros for firstSeq 0): where the chain breaks. */
  readonly prev: RecordHash;
  /** Hash of record lastSeq: what the record after the gap links to. */
  readonly resume: RecordHash;
  readonly reason: GapReason;
}

const DOMAIN = Buffer.from(`${GAP_DECLARATION_DOMAIN}\u0000`, 'ascii');

/** True for one of {@link GAP_REASONS}. */
export function isGapReason(s: unknown): s is GapReason {
  return typeof s === 'string' && (GAP_REASONS as readonly string[]).includes(s);
}

const isSeq = (n: unknown): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= MAX_SEQUENCE;

/** The exact bytes a declaration's signature covers; throws `code` for a malformed declaration. */
export function encodeGapMessage(
  d: GapDeclaration,
  code: 'INVALID_ARGUMENT' | 'MALFORMED_INPUT' = 'INVALID_ARGUMENT',
): Uint8Array<ArrayBuffer> {
  const bad = (what: string): never => {
    throw new CustosError(code, `gap declaration: ${what}`);
  };
  if (!isWellFormedId(d.org)) bad('org is not a well-formed id');
  if (!isWellFormedId(d.device)) bad('device is not a well-formed id');
  if (!isSeq(d.firstSeq)) bad('first sequence number is out of range');
  if (!isSeq(d.lastSeq) || d.lastSeq < d.firstSeq) bad('last sequence number is before the first');
  for (const [name, h] of [
    ['prev', d.prev],
    ['resume', d.resume],
  ] as const) {
    if (!(h instanceof Uint8Array) || h.length !== HASH_LENGTH) bad(`${name} is not ${HASH_LENGTH} bytes`);
  }
  if (d.firstSeq === 0 && d.prev.some((b) => b !== 0))
    bad('prev of a gap from sequence number 0 is not zeros');
  if (!isGapReason(d.reason)) bad(`reason is not one of ${GAP_REASONS.join(', ')}`);
  const out = Buffer.alloc(
    DOMAIN.length + 2 + d.org.length + 2 + d.device.length + 8 + 8 + 2 * HASH_LENGTH + 1 + d.reason.length,
  );
  let at = DOMAIN.copy(out, 0);
  at = out.writeUInt16BE(d.org.length, at);
  at += out.write(d.org, at, 'ascii');
  at = out.writeUInt16BE(d.device.length, at);
  at += out.write(d.device, at, 'ascii');
  at = out.writeBigUInt64BE(BigInt(d.firstSeq), at);
  at = out.writeBigUInt64BE(BigInt(d.lastSeq), at);
  out.set(d.prev, at);
  at += HASH_LENGTH;
  out.set(d.resume, at);
  at += HASH_LENGTH;
  at = out.writeUInt8(d.reason.length, at);
  out.write(d.reason, at, 'ascii');
  return out;
}

/** Signs a declaration with the device's identity private key; returns the document (message || signature). */
export function signGapDeclaration(identityPrivateKey: PrivateKey, d: GapDeclaration): Uint8Array {
  const message = encodeGapMessage(d);
  return Buffer.concat([message, identityPrivateKey.sign(message)]);
}

/**
 * Parses a declaration document without checking its signature (use
 * {@link verifyGapDeclaration} before trusting it). Throws MALFORMED_INPUT naming what is
 * wrong, OVERSIZED_INPUT beyond {@link MAX_GAP_DECLARATION_BYTES}.
 */
export function decodeGapDeclaration(document: Uint8Array): {
  declaration: GapDeclaration;
  message: Uint8Array<ArrayBuffer>;
  signature: Uint8Array<ArrayBuffer>;
} {
  const bad = (what: string): never => {
    throw new CustosError('MALFORMED_INPUT', `gap declaration: ${what}`);
  };
  if (!(document instanceof Uint8Array)) bad('must be bytes');
  if (document.length > MAX_GAP_DECLARATION_BYTES) {
    throw new CustosError(
      'OVERSIZED_INPUT',
      `gap declaration is larger than ${MAX_GAP_DECLARATION_BYTES} bytes`,
    );
  }
  const b = Buffer.from(document.buffer, document.byteOffset, document.byteLength);
  if (b.length < DOMAIN.length || !b.subarray(0, DOMAIN.length).equals(DOMAIN)) bad('wrong domain string');
  let at = DOMAIN.length;
  const need = (n: number): void => {
    if (at + n > b.length) bad('truncated');
  };
  const ascii = (lenBytes: 1 | 2): string => {
    need(lenBytes);
    const n = lenBytes === 2 ? b.readUInt16BE(at) : b.readUInt8(at);
    at += lenBytes;
    need(n);
    const s = b.toString('latin1', at, at + n);
    at += n;
    return s;
  };
  const u64 = (): number => {
    need(8);
    const v = b.readBigUInt64BE(at);
    at += 8;
    if (v > BigInt(MAX_SEQUENCE)) bad('sequence number out of range');
    return Number(v);
  };
  const hash = (): RecordHash => {
    need(HASH_LENGTH);
    const h = Uint8Array.from(b.subarray(at, at + HASH_LENGTH)) as RecordHash;
    at += HASH_LENGTH;
    return h;
  };
  const org = ascii(2) as OrgId;
  const device = ascii(2) as DeviceId;
  const firstSeq = u64();
  const lastSeq = u64();
  const prev = hash();
  const resume = hash();
  const reason = ascii(1);
  if (!isGapReason(reason)) bad(`reason is not one of ${GAP_REASONS.join(', ')}`);
  const declaration: GapDeclaration = {
    org,
    device,
    firstSeq,
    lastSeq,
    prev,
    resume,
    reason: reason as GapReason,
  };
  // Re-encoding checks every field and that the message is the one canonical encoding.
  const message = encodeGapMessage(declaration, 'MALFORMED_INPUT');
  if (
    b.length !== message.length + BATCH_SIGNATURE_LENGTH ||
    !b.subarray(0, message.length).equals(message)
  ) {
    bad(`must be the message followed by a ${BATCH_SIGNATURE_LENGTH}-byte signature`);
  }
  return { declaration, message, signature: Uint8Array.from(b.subarray(message.length)) };
}

/**
 * Parses a declaration document and verifies its signature against a serialized identity
 * public key (33 bytes, 0x05 prefix). Throws MALFORMED_INPUT for a malformed document,
 * SIGNATURE_INVALID when it does not verify, INVALID_ARGUMENT for a malformed key.
 */
export function verifyGapDeclaration(
  identityPublicKeyBytes: Uint8Array,
  document: Uint8Array,
): GapDeclaration {
  const key = identityPublicKey(identityPublicKeyBytes);
  const { declaration, message, signature } = decodeGapDeclaration(document);
  let ok: boolean;
  try {
    ok = key.verify(message, signature);
  } catch (e) {
    throw new CustosError('SIGNATURE_INVALID', 'gap declaration signature does not verify', { cause: e });
  }
  if (!ok) throw new CustosError('SIGNATURE_INVALID', 'gap declaration signature does not verify');
  return declaration;
}

/**
 * Where a device's chain continues after a declared gap (docs/archive-format.md §6.1): the
 * declaration must start right after `anchor` (at 0 without one) and chain from its hash;
 * the next record is then verified from `{ seq: lastSeq, hash: resume }` (core verifyChain).
 * Throws CHAIN_BROKEN naming the expected sequence number otherwise. The declaration's
 * signature is checked separately ({@link verifyGapDeclaration}).
 */
export function chainAnchorAfterGap(d: GapDeclaration, anchor?: ChainAnchor): ChainAnchor {
  const expectedSeq = anchor === undefined ? 0 : anchor.seq + 1;
  const expectedPrev = anchor === undefined ? new Uint8Array(HASH_LENGTH) : anchor.hash;
  if (d.firstSeq !== expectedSeq) {
    throw new CustosError(
      'CHAIN_BROKEN',
      `expected sequence number ${expectedSeq}, the gap declaration starts at ${d.firstSeq}`,
    );
  }
  if (!Buffer.from(d.prev).equals(Buffer.from(expectedPrev))) {
    throw new CustosError(
      'CHAIN_BROKEN',
      `expected the gap from sequence number ${expectedSeq} to link to ${toHex(expectedPrev)}, it links to ${toHex(d.prev)} (fork)`,
    );
  }
  return { seq: d.lastSeq, hash: d.resume };
}
