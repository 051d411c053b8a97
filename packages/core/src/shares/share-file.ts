/**
 * Sealing and opening share files: scrypt(passphrase, salt) → 48 bytes; the first 32 are the
 * AES-256-GCM key, the last 16 are stored as `passphraseCheck` so a wrong passphrase is told
 * apart from a tampered file (both need the full scrypt work, so the check value gives an
 * attacker no shortcut). The share bytes are encrypted with the file's canonical metadata as
 * associated data, so changing any field fails authentication.
 *
 * Core does no I/O: these functions take and return strings; the CLI writes the files.
 */
import {
  createCipheriv,
  createDecipheriv,
  randomBytes,
  scrypt,
  scryptSync,
  timingSafeEqual,
} from 'node:crypto';
import { CustosError } from '../errors.js';
import { isWellFormedId } from '../record/ids.js';
import {
  checkScryptParams,
  DEFAULT_SCRYPT_PARAMS,
  scryptMaxmem,
  type KdfPolicy,
  type ScryptParams,
} from './scrypt-params.js';
import {
  formatShareFile,
  GCM_NONCE_LENGTH,
  GCM_TAG_LENGTH,
  PASSPHRASE_CHECK_LENGTH,
  parseShareFile,
  SHARE_FILE_VERSION,
  SHARE_SECRET_KINDS,
  shareFileAssociatedData,
  type ShareFile,
  type ShareFileMetadata,
} from './share-file-format.js';
import { checkKeyShare, type KeyShare } from './split.js';

/** Shortest passphrase accepted when sealing, in code points (after NFKC). */
export const MIN_PASSPHRASE_LENGTH = 12;
/** Salt length written by this code. */
export const SALT_LENGTH = 32;
const KEY_LENGTH = 32;
const FINGERPRINT_PATTERN = /^[A-Za-z0-9:+/=_.-]{1,128}$/;

/** Options for sealing: stronger KDF parameters, or (tests only) weaker ones. */
export interface SealShareOptions extends KdfPolicy {
  readonly kdf?: ScryptParams;
}

/** What opening a share file yields. */
export interface OpenedShareFile extends ShareFileMetadata {
  readonly share: KeyShare;
  readonly kdf: ScryptParams;
}

/** Passphrases are typed by people on different machines: NFKC, then UTF-8. */
function passphraseBytes(passphrase: unknown): Uint8Array {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new CustosError('INVALID_ARGUMENT', 'passphrase must be a non-empty string');
  }
  return new TextEncoder().encode(passphrase.normalize('NFKC'));
}

type Derive = (pass: Uint8Array, salt: Uint8Array, params: ScryptParams) => Uint8Array | Promise<Uint8Array>;

const OUTPUT_LENGTH = KEY_LENGTH + PASSPHRASE_CHECK_LENGTH;

const deriveSync: Derive = (pass, salt, params) =>
  new Uint8Array(scryptSync(pass, salt, OUTPUT_LENGTH, { ...params, maxmem: scryptMaxmem(params) }));

const deriveAsync: Derive = (pass, salt, params) =>
  new Promise((resolve, reject) => {
    scrypt(pass, salt, OUTPUT_LENGTH, { ...params, maxmem: scryptMaxmem(params) }, (err, key) => {
      if (err) reject(new CustosError('INVALID_ARGUMENT', 'scrypt failed', { cause: err }));
      else resolve(new Uint8Array(key));
    });
  });

function checkMetadata(meta: ShareFileMetadata): void {
  if (!isWellFormedId(meta.orgId)) throw new CustosError('INVALID_ARGUMENT', 'orgId is not a well-formed id');
  if (!(SHARE_SECRET_KINDS as readonly string[]).includes(meta.secretKind)) {
    throw new CustosError('INVALID_ARGUMENT', `secretKind must be one of ${SHARE_SECRET_KINDS.join(', ')}`);
  }
  const fp = meta.publicKeyFingerprint;
  if (fp !== null && (typeof fp !== 'string' || !FINGERPRINT_PATTERN.test(fp))) {
    throw new CustosError('INVALID_ARGUMENT', 'publicKeyFingerprint must be null or 1..128 safe characters');
  }
}

function* sealSteps(
  share: KeyShare,
  meta: ShareFileMetadata,
  passphrase: string,
  options: SealShareOptions,
): Generator<{ pass: Uint8Array; salt: Uint8Array; params: ScryptParams }, string, Uint8Array> {
  const s = checkKeyShare(share);
  checkMetadata(meta);
  if (
    [...(typeof passphrase === 'string' ? passphrase.normalize('NFKC') : '')].length < MIN_PASSPHRASE_LENGTH
  ) {
    throw new CustosError(
      'INVALID_ARGUMENT',
      `passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`,
    );
  }
  let params: ScryptParams;
  try {
    params = checkScryptParams(options.kdf ?? DEFAULT_SCRYPT_PARAMS, options);
  } catch (e) {
    throw new CustosError('INVALID_ARGUMENT', e instanceof Error ? e.message : 'bad kdf parameters', {
      cause: e,
    });
  }
  const salt = new Uint8Array(randomBytes(SALT_LENGTH));
  const derived = yield { pass: passphraseBytes(passphrase), salt, params };
  const nonce = new Uint8Array(randomBytes(GCM_NONCE_LENGTH));
  const header: ShareFile = {
    version: SHARE_FILE_VERSION,
    orgId: meta.orgId,
    secretKind: meta.secretKind,
    publicKeyFingerprint: meta.publicKeyFingerprint,
    splitId: s.splitId,
    shareIndex: s.index,
    threshold: s.threshold,
    total: s.total,
    kdf: { name: 'scrypt', ...params, salt, passphraseCheck: derived.slice(KEY_LENGTH) },
    aead: { name: 'AES-256-GCM', nonce },
    ciphertext: new Uint8Array(0),
  };
  const cipher = createCipheriv('aes-256-gcm', derived.subarray(0, KEY_LENGTH), nonce);
  cipher.setAAD(shareFileAssociatedData(header));
  const ct = Buffer.concat([cipher.update(s.share), cipher.final(), cipher.getAuthTag()]);
  derived.fill(0);
  return formatShareFile({ ...header, ciphertext: new Uint8Array(ct) });
}

function* openSteps(
  input: string | Uint8Array,
  passphrase: string,
  policy: KdfPolicy,
): Generator<{ pass: Uint8Array; salt: Uint8Array; params: ScryptParams }, OpenedShareFile, Uint8Array> {
  // Parse (and refuse) before any scrypt work: a malformed or hostile file costs nothing.
  const f = parseShareFile(input, policy);
  const params = { N: f.kdf.N, r: f.kdf.r, p: f.kdf.p };
  const derived = yield { pass: passphraseBytes(passphrase), salt: f.kdf.salt, params };
  try {
    if (!timingSafeEqual(derived.subarray(KEY_LENGTH), f.kdf.passphraseCheck)) {
      throw new CustosError('WRONG_PASSPHRASE', 'wrong passphrase for this share file');
    }
    const ct = f.ciphertext;
    const decipher = createDecipheriv('aes-256-gcm', derived.subarray(0, KEY_LENGTH), f.aead.nonce);
    decipher.setAAD(shareFileAssociatedData(f));
    decipher.setAuthTag(ct.subarray(ct.length - GCM_TAG_LENGTH));
    let plain: Uint8Array;
    try {
      plain = new Uint8Array(
        Buffer.concat([decipher.update(ct.subarray(0, ct.length - GCM_TAG_LENGTH)), decipher.final()]),
      );
    } catch (e) {
      throw new CustosError('DECRYPTION_FAILED', 'share file was modified: authentication failed', {
        cause: e,
      });
    }
    const share = checkKeyShare({
      splitId: f.splitId,
      index: f.shareIndex,
      threshold: f.threshold,
      total: f.total,
      share: plain,
    });
    return {
      orgId: f.orgId,
      secretKind: f.secretKind,
      publicKeyFingerprint: f.publicKeyFingerprint,
      share,
      kdf: params,
    };
  } finally {
    derived.fill(0);
  }
}

function runSync<T>(
  gen: Generator<{ pass: Uint8Array; salt: Uint8Array; params: ScryptParams }, T, Uint8Array>,
): T {
  let step = gen.next();
  while (!step.done) {
    const { pass, salt, params } = step.value;
    step = gen.next(deriveSync(pass, salt, params) as Uint8Array);
  }
  return step.value;
}

async function runAsync<T>(
  gen: Generator<{ pass: Uint8Array; salt: Uint8Array; params: ScryptParams }, T, Uint8Array>,
): Promise<T> {
  let step = gen.next();
  while (!step.done) {
    const { pass, salt, params } = step.value;
    step = gen.next(await deriveAsync(pass, salt, params));
  }
  return step.value;
}

/** Encrypts one share under a passphrase and returns the share file text (blocks for the scrypt work). */
export function sealShareFileSync(
  share: KeyShare,
  metadata: ShareFileMetadata,
  passphrase: string,
  options: SealShareOptions = {},
): string {
  return runSync(sealSteps(share, metadata, passphrase, options));
}

/** {@link sealShareFileSync} with scrypt on the libuv thread pool. */
export async function sealShareFile(
  share: KeyShare,
  metadata: ShareFileMetadata,
  passphrase: string,
  options: SealShareOptions = {},
): Promise<string> {
  return runAsync(sealSteps(share, metadata, passphrase, options));
}

/**
 * Parses, derives and decrypts a share file. Throws MALFORMED_SHARE / UNSUPPORTED_VERSION
 * (before deriving anything), WRONG_PASSPHRASE, or DECRYPTION_FAILED for a modified file.
 */
export function openShareFileSync(
  input: string | Uint8Array,
  passphrase: string,
  policy: KdfPolicy = {},
): OpenedShareFile {
  return runSync(openSteps(input, passphrase, policy));
}

/** {@link openShareFileSync} with scrypt on the libuv thread pool. */
export async function openShareFile(
  input: string | Uint8Array,
  passphrase: string,
  policy: KdfPolicy = {},
): Promise<OpenedShareFile> {
  return runAsync(openSteps(input, passphrase, policy));
}
