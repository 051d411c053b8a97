/**
 * Passphrase-protected files of the console (the officer key file; docs/ceremony.md §3). Same
 * scheme as core share files (docs/key-shares.md §3): NFKC passphrase → scrypt (N = 2^17,
 * r = 8, p = 1 by default, the same accepted range) → 48 bytes; bytes 0–31 are the
 * AES-256-GCM key, bytes 32–47 are stored as `passphraseCheck` so a wrong passphrase
 * (WRONG_PASSPHRASE) is told apart from a modified file (DECRYPTION_FAILED). The associated
 * data is the canonical JSON (keys sorted, compact) of every field except `ciphertext`.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import {
  checkScryptParams,
  CustosError,
  DEFAULT_SCRYPT_PARAMS,
  MIN_PASSPHRASE_LENGTH,
  type KdfPolicy,
  type ScryptParams,
} from '@custos/core';

const KEY_LENGTH = 32;
const CHECK_LENGTH = 16;
const SALT_LENGTH = 32;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
/** Largest passphrase-protected file read. */
export const MAX_PASSPHRASE_FILE_BYTES = 16 * 1024;

/** Public, authenticated fields of a passphrase-protected file (JSON values only). */
export type PublicFields = Readonly<
  Record<string, string | number | boolean | null | Readonly<Record<string, string | number>>>
>;

/** Sealing options: stronger KDF parameters, or (tests only) weaker ones. */
export interface PassphraseBoxOptions extends KdfPolicy {
  readonly kdf?: ScryptParams;
}

/** JSON with object keys sorted at every level, compact. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function derive(passphrase: string, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    return Promise.reject(new CustosError('INVALID_ARGUMENT', 'passphrase must be a non-empty string'));
  }
  const pass = Buffer.from(passphrase.normalize('NFKC'), 'utf8');
  const maxmem = 128 * params.N * params.r + 128 * params.r * params.p + 2 ** 20;
  return new Promise((resolve, reject) => {
    scrypt(pass, salt, KEY_LENGTH + CHECK_LENGTH, { ...params, maxmem }, (err, key) => {
      pass.fill(0);
      if (err) reject(new CustosError('INVALID_ARGUMENT', 'scrypt failed', { cause: err }));
      else resolve(key);
    });
  });
}

const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');

/** Encrypts `plaintext` under `passphrase`; returns the file text (indented JSON, final newline). */
export async function sealWithPassphrase(
  format: string,
  fields: PublicFields,
  plaintext: Uint8Array,
  passphrase: string,
  options: PassphraseBoxOptions = {},
): Promise<string> {
  if ([...passphrase.normalize('NFKC')].length < MIN_PASSPHRASE_LENGTH) {
    throw new CustosError(
      'INVALID_ARGUMENT',
      `passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`,
    );
  }
  const params = checkScryptParams(options.kdf ?? DEFAULT_SCRYPT_PARAMS, options);
  const salt = randomBytes(SALT_LENGTH);
  const derived = await derive(passphrase, salt, params);
  const nonce = randomBytes(NONCE_LENGTH);
  const header = {
    format,
    version: 1,
    fields,
    kdf: { name: 'scrypt', ...params, salt: b64(salt), passphraseCheck: b64(derived.subarray(KEY_LENGTH)) },
    aead: { name: 'AES-256-GCM', nonce: b64(nonce) },
  };
  const cipher = createCipheriv('aes-256-gcm', derived.subarray(0, KEY_LENGTH), nonce);
  cipher.setAAD(Buffer.from(canonicalJson(header), 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  derived.fill(0);
  return `${JSON.stringify({ ...header, ciphertext: b64(ct) }, null, 2)}\n`;
}

function canonicalBase64(what: string, v: unknown, min: number, max: number): Buffer {
  const bad = (): never => {
    throw new CustosError('MALFORMED_INPUT', `${what} must be canonical base64 of ${min}..${max} bytes`);
  };
  if (typeof v !== 'string') return bad();
  const bytes = Buffer.from(v, 'base64');
  if (bytes.toString('base64') !== v || bytes.length < min || bytes.length > max) return bad();
  return bytes;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A parsed, not yet opened, passphrase-protected file. */
export interface ParsedPassphraseFile {
  readonly format: string;
  readonly fields: Record<string, unknown>;
}

/**
 * Parses, derives and decrypts. Everything is checked before any key derivation, so a hostile
 * file costs nothing. MALFORMED_INPUT / UNSUPPORTED_VERSION, WRONG_PASSPHRASE, DECRYPTION_FAILED.
 */
export async function openWithPassphrase(
  format: string,
  text: string,
  passphrase: string,
  policy: KdfPolicy = {},
): Promise<ParsedPassphraseFile & { plaintext: Uint8Array }> {
  if (text.length > MAX_PASSPHRASE_FILE_BYTES)
    throw new CustosError('OVERSIZED_INPUT', `${format} file is too large`);
  let f: unknown;
  try {
    f = JSON.parse(text);
  } catch (e) {
    throw new CustosError('MALFORMED_INPUT', `${format} file is not JSON`, { cause: e });
  }
  if (!isRecord(f) || f.format !== format) throw new CustosError('MALFORMED_INPUT', `not a ${format} file`);
  if (f.version !== 1)
    throw new CustosError('UNSUPPORTED_VERSION', `${format} file version is not supported (want 1)`);
  const { fields, kdf, aead, ciphertext } = f;
  if (Object.keys(f).sort().join() !== 'aead,ciphertext,fields,format,kdf,version') {
    throw new CustosError('MALFORMED_INPUT', `${format} file: unexpected or missing fields`);
  }
  if (!isRecord(fields) || !isRecord(kdf) || !isRecord(aead)) {
    throw new CustosError('MALFORMED_INPUT', `${format} file: fields, kdf and aead must be objects`);
  }
  if (kdf.name !== 'scrypt' || aead.name !== 'AES-256-GCM') {
    throw new CustosError('MALFORMED_INPUT', `${format} file: kdf must be scrypt and aead AES-256-GCM`);
  }
  let params: ScryptParams;
  try {
    params = checkScryptParams({ N: kdf.N as number, r: kdf.r as number, p: kdf.p as number }, policy);
  } catch (e) {
    throw new CustosError(
      'MALFORMED_INPUT',
      `${format} file: ${e instanceof Error ? e.message : 'bad kdf'}`,
      { cause: e },
    );
  }
  const salt = canonicalBase64('kdf.salt', kdf.salt, 16, 64);
  const check = canonicalBase64('kdf.passphraseCheck', kdf.passphraseCheck, CHECK_LENGTH, CHECK_LENGTH);
  const nonce = canonicalBase64('aead.nonce', aead.nonce, NONCE_LENGTH, NONCE_LENGTH);
  const ct = canonicalBase64('ciphertext', ciphertext, TAG_LENGTH + 1, MAX_PASSPHRASE_FILE_BYTES);
  const derived = await derive(passphrase, salt, params);
  try {
    if (!timingSafeEqual(derived.subarray(KEY_LENGTH), check)) {
      throw new CustosError('WRONG_PASSPHRASE', `wrong passphrase for this ${format} file`);
    }
    const header = { format, version: 1, fields, kdf, aead };
    const decipher = createDecipheriv('aes-256-gcm', derived.subarray(0, KEY_LENGTH), nonce);
    decipher.setAAD(Buffer.from(canonicalJson(header), 'utf8'));
    decipher.setAuthTag(ct.subarray(ct.length - TAG_LENGTH));
    try {
      const plaintext = Buffer.concat([
        decipher.update(ct.subarray(0, ct.length - TAG_LENGTH)),
        decipher.final(),
      ]);
      return { format, fields, plaintext: new Uint8Array(plaintext) };
    } catch (e) {
      throw new CustosError('DECRYPTION_FAILED', `${format} file was modified: authentication failed`, {
        cause: e,
      });
    }
  } finally {
    derived.fill(0);
  }
}
