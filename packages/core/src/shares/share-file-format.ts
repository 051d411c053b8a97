/**
 * The share file, version 1: readable JSON so an officer can see what a file is, parsed
 * strictly because it is the one input of a key ceremony that comes from outside.
 *
 * Every field is required and typed; unknown fields, versions and algorithms are refused,
 * and KDF parameters outside the safe range (scrypt-params.ts) are refused before anything
 * is derived. The associated data of the AEAD is the canonical JSON of every field but
 * `ciphertext`, rebuilt from the parsed values (docs/key-shares.md §2).
 */
import { CustosError } from '../errors.js';
import { decodeBase64, encodeBase64 } from '../note/base64.js';
import { isWellFormedId } from '../record/ids.js';
import { checkScryptParams, type KdfPolicy, type ScryptParams } from './scrypt-params.js';
import { MAX_SECRET_LENGTH, MAX_SHARES, SHARE_CHECKSUM_LENGTH } from './split.js';

/** The `format` field's value. */
export const SHARE_FILE_FORMAT = 'custos-key-share';
/** The only version this code reads and writes. */
export const SHARE_FILE_VERSION = 1;
/** Largest share file accepted, in bytes; checked before JSON parsing. */
export const MAX_SHARE_FILE_SIZE = 16 * 1024;
/** What a share file may hold. */
export const SHARE_SECRET_KINDS = ['org-root-archive-key', 'org-signing-key', 'org-index-secret'] as const;
/** One of {@link SHARE_SECRET_KINDS}. */
export type ShareSecretKind = (typeof SHARE_SECRET_KINDS)[number];

export const SALT_MIN_LENGTH = 16;
export const SALT_MAX_LENGTH = 64;
export const PASSPHRASE_CHECK_LENGTH = 16;
export const GCM_NONCE_LENGTH = 12;
export const GCM_TAG_LENGTH = 16;

const TOP_KEYS = [
  'format',
  'version',
  'orgId',
  'secretKind',
  'splitId',
  'shareIndex',
  'threshold',
  'total',
  'publicKeyFingerprint',
  'kdf',
  'aead',
  'ciphertext',
] as const;
const KDF_KEYS = ['name', 'N', 'r', 'p', 'salt', 'passphraseCheck'] as const;
const AEAD_KEYS = ['name', 'nonce'] as const;
const SPLIT_ID_PATTERN = /^[0-9a-f]{32}$/;
const FINGERPRINT_PATTERN = /^[A-Za-z0-9:+/=_.-]{1,128}$/;

/** The cleartext description of a share: who, what, which of how many. */
export interface ShareFileMetadata {
  readonly orgId: string;
  readonly secretKind: ShareSecretKind;
  /** Fingerprint of the secret's public half (e.g. the org signing key), or null. */
  readonly publicKeyFingerprint: string | null;
}

/** A parsed, not yet decrypted, share file. */
export interface ShareFile extends ShareFileMetadata {
  readonly version: 1;
  readonly splitId: string;
  readonly shareIndex: number;
  readonly threshold: number;
  readonly total: number;
  readonly kdf: ScryptParams & {
    readonly name: 'scrypt';
    readonly salt: Uint8Array;
    readonly passphraseCheck: Uint8Array;
  };
  readonly aead: { readonly name: 'AES-256-GCM'; readonly nonce: Uint8Array };
  /** AES-256-GCM ciphertext of the share bytes, tag appended. */
  readonly ciphertext: Uint8Array;
}

function malformed(what: string): CustosError {
  return new CustosError('MALFORMED_SHARE', `share file: ${what}`);
}

function exactKeys(o: unknown, keys: readonly string[], where: string): Record<string, unknown> {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw malformed(`${where} must be an object`);
  const rec = o as Record<string, unknown>;
  for (const k of Object.keys(rec))
    if (!keys.includes(k)) throw malformed(`unknown field ${where}.${k.slice(0, 40)}`);
  for (const k of keys) if (!Object.hasOwn(rec, k)) throw malformed(`missing field ${where}.${k}`);
  return rec;
}

function int(v: unknown, min: number, max: number, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw malformed(`${field} must be an integer ${min}..${max}`);
  }
  return v;
}

function bytes(v: unknown, min: number, max: number, field: string): Uint8Array {
  const decoded = typeof v === 'string' ? decodeBase64(v) : undefined;
  if (decoded === undefined) throw malformed(`${field} must be canonical base64`);
  if (decoded.length < min || decoded.length > max) throw malformed(`${field} must be ${min}..${max} bytes`);
  return decoded;
}

/** Parses a share file strictly, deriving nothing. `policy` decides whether weak test KDF parameters pass. */
export function parseShareFile(input: string | Uint8Array, policy: KdfPolicy = {}): ShareFile {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else if (input instanceof Uint8Array) {
    if (input.length > MAX_SHARE_FILE_SIZE) throw malformed(`larger than ${MAX_SHARE_FILE_SIZE} bytes`);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch (e) {
      throw new CustosError('MALFORMED_SHARE', 'share file: not UTF-8', { cause: e });
    }
  } else {
    throw new CustosError('INVALID_ARGUMENT', 'share file must be a string or bytes');
  }
  if (text.length > MAX_SHARE_FILE_SIZE) throw malformed(`larger than ${MAX_SHARE_FILE_SIZE} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CustosError('MALFORMED_SHARE', 'share file: not JSON', { cause: e });
  }
  const top = exactKeys(json, TOP_KEYS, 'file');
  if (top.format !== SHARE_FILE_FORMAT) throw malformed(`format must be "${SHARE_FILE_FORMAT}"`);
  if (top.version !== SHARE_FILE_VERSION) {
    throw new CustosError('UNSUPPORTED_VERSION', `share file: version must be ${SHARE_FILE_VERSION}`);
  }
  if (!isWellFormedId(top.orgId)) throw malformed('orgId is not a well-formed id');
  const secretKind = top.secretKind;
  if (typeof secretKind !== 'string' || !(SHARE_SECRET_KINDS as readonly string[]).includes(secretKind)) {
    throw malformed(`secretKind must be one of ${SHARE_SECRET_KINDS.join(', ')}`);
  }
  if (typeof top.splitId !== 'string' || !SPLIT_ID_PATTERN.test(top.splitId))
    throw malformed('splitId must be 32 hex digits');
  const total = int(top.total, 2, MAX_SHARES, 'total');
  const threshold = int(top.threshold, 2, total, 'threshold');
  const shareIndex = int(top.shareIndex, 1, total, 'shareIndex');
  const fp = top.publicKeyFingerprint;
  if (fp !== null && (typeof fp !== 'string' || !FINGERPRINT_PATTERN.test(fp))) {
    throw malformed('publicKeyFingerprint must be null or 1..128 characters of A–Z a–z 0–9 : + / = _ . -');
  }

  const kdf = exactKeys(top.kdf, KDF_KEYS, 'kdf');
  if (kdf.name !== 'scrypt') throw malformed('kdf.name must be "scrypt"');
  const params = checkScryptParams(
    { N: int(kdf.N, 1, 2 ** 32, 'kdf.N'), r: int(kdf.r, 1, 1024, 'kdf.r'), p: int(kdf.p, 1, 1024, 'kdf.p') },
    policy,
  );
  const salt = bytes(kdf.salt, SALT_MIN_LENGTH, SALT_MAX_LENGTH, 'kdf.salt');
  const passphraseCheck = bytes(
    kdf.passphraseCheck,
    PASSPHRASE_CHECK_LENGTH,
    PASSPHRASE_CHECK_LENGTH,
    'kdf.passphraseCheck',
  );

  const aead = exactKeys(top.aead, AEAD_KEYS, 'aead');
  if (aead.name !== 'AES-256-GCM') throw malformed('aead.name must be "AES-256-GCM"');
  const nonce = bytes(aead.nonce, GCM_NONCE_LENGTH, GCM_NONCE_LENGTH, 'aead.nonce');
  const minShare = 1 + SHARE_CHECKSUM_LENGTH + 1;
  const maxShare = MAX_SECRET_LENGTH + SHARE_CHECKSUM_LENGTH + 1;
  const ciphertext = bytes(
    top.ciphertext,
    minShare + GCM_TAG_LENGTH,
    maxShare + GCM_TAG_LENGTH,
    'ciphertext',
  );

  return {
    version: SHARE_FILE_VERSION,
    orgId: top.orgId,
    secretKind: secretKind as ShareSecretKind,
    splitId: top.splitId,
    shareIndex,
    threshold,
    total,
    publicKeyFingerprint: fp,
    kdf: { name: 'scrypt', ...params, salt, passphraseCheck },
    aead: { name: 'AES-256-GCM', nonce },
    ciphertext,
  };
}

/** The file's fields in their fixed order, as JSON-ready values. */
function fields(f: ShareFile): Record<string, unknown> {
  return {
    format: SHARE_FILE_FORMAT,
    version: f.version,
    orgId: f.orgId,
    secretKind: f.secretKind,
    splitId: f.splitId,
    shareIndex: f.shareIndex,
    threshold: f.threshold,
    total: f.total,
    publicKeyFingerprint: f.publicKeyFingerprint,
    kdf: {
      name: f.kdf.name,
      N: f.kdf.N,
      r: f.kdf.r,
      p: f.kdf.p,
      salt: encodeBase64(f.kdf.salt),
      passphraseCheck: encodeBase64(f.kdf.passphraseCheck),
    },
    aead: { name: f.aead.name, nonce: encodeBase64(f.aead.nonce) },
    ciphertext: encodeBase64(f.ciphertext),
  };
}

/** The AEAD associated data: UTF-8 of the compact canonical JSON of every field except `ciphertext`. */
export function shareFileAssociatedData(f: ShareFile): Uint8Array {
  const { ciphertext: _omit, ...rest } = fields(f);
  return new TextEncoder().encode(JSON.stringify(rest));
}

/** Serialises a share file as indented JSON with a final newline (what the CLI writes). */
export function formatShareFile(f: ShareFile): string {
  return JSON.stringify(fields(f), null, 2) + '\n';
}
