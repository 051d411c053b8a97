/**
 * The device storage key: 32 random bytes that encrypt every value of the local store.
 * It lives in `storage.key` beside the database, in one of two forms (docs/client.md §2):
 *
 * - `passphrase`: the key sealed with AES-256-GCM under scrypt(passphrase, salt), with
 *   core/shares' KDF policy (N ≥ 2^17, r = 8, p = 1 by default). Someone who copies the
 *   profile folder must still guess the passphrase, at scrypt cost per guess.
 * - `file`: the key itself, in a file of mode 0600 in a 0700 folder, for unattended use
 *   (bots, servers of record). Anyone who can read the user's files reads the key: this
 *   protects against other local users and against a copied database without its key
 *   file, not against malware running as the user or a stolen unencrypted disk.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { checkScryptParams, DEFAULT_SCRYPT_PARAMS, type KdfPolicy, type ScryptParams } from '@custos/core';
import { ClientError } from '../errors.js';

/** Length of the device storage key in bytes. */
export const STORAGE_KEY_LENGTH = 32;
/** File name of the wrapped (or plain, mode `file`) storage key inside a profile folder. */
export const STORAGE_KEY_FILE = 'storage.key';
/** Format tag of the key file. */
const KEY_FILE_FORMAT = 'custos-storage-key-v1';
/** AAD of the passphrase-sealed key: binds the ciphertext to this format and its parameters. */
const WRAP_AAD_PREFIX = 'custos-storage-key-v1 passphrase';
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** How the storage key is protected. */
export type StorageKeyProtection =
  | { readonly kind: 'passphrase'; readonly passphrase: string; readonly kdf?: ScryptParams }
  | { readonly kind: 'file' };

/** Options for opening with a passphrase (the KDF policy of core/shares). */
export type StorageKeyOptions = KdfPolicy;

interface PassphraseFile {
  format: typeof KEY_FILE_FORMAT;
  kind: 'passphrase';
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  nonce: string;
  sealed: string;
}
interface PlainFile {
  format: typeof KEY_FILE_FORMAT;
  kind: 'file';
  key: string;
}

function scryptKey(passphrase: string, salt: Buffer, p: ScryptParams): Buffer {
  // MUST NOT log: derived key material and the passphrase.
  return scryptSync(passphrase.normalize('NFC'), salt, STORAGE_KEY_LENGTH, {
    N: p.N,
    r: p.r,
    p: p.p,
    maxmem: 128 * p.N * p.r + 128 * p.r * p.p + 2 ** 20,
  });
}

function wrapAad(p: ScryptParams): Buffer {
  return Buffer.from(`${WRAP_AAD_PREFIX} N=${p.N} r=${p.r} p=${p.p}`, 'utf8');
}

/** Creates a fresh storage key and writes `storage.key` (mode 0600); fails if one exists. */
export function createStorageKey(
  path: string,
  protection: StorageKeyProtection,
  options: StorageKeyOptions = {},
): Buffer {
  if (existsSync(path)) throw new ClientError('PROFILE_EXISTS', 'this profile already has a storage key');
  const key = randomBytes(STORAGE_KEY_LENGTH);
  let file: PassphraseFile | PlainFile;
  if (protection.kind === 'file') {
    file = { format: KEY_FILE_FORMAT, kind: 'file', key: key.toString('base64url') };
  } else {
    const params = checkScryptParams(protection.kdf ?? DEFAULT_SCRYPT_PARAMS, options);
    const salt = randomBytes(SALT_BYTES);
    const nonce = randomBytes(NONCE_BYTES);
    const kek = scryptKey(protection.passphrase, salt, params);
    const c = createCipheriv('aes-256-gcm', kek, nonce);
    c.setAAD(wrapAad(params));
    const sealed = Buffer.concat([c.update(key), c.final(), c.getAuthTag()]);
    kek.fill(0);
    file = {
      format: KEY_FILE_FORMAT,
      kind: 'passphrase',
      kdf: { name: 'scrypt', ...params, salt: salt.toString('base64url') },
      nonce: nonce.toString('base64url'),
      sealed: sealed.toString('base64url'),
    };
  }
  writeFileSync(path, `${JSON.stringify(file)}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

/** How the key file at `path` is protected, without opening it. */
export function storageKeyKind(path: string): 'passphrase' | 'file' {
  return parseKeyFile(path).kind;
}

function parseKeyFile(path: string): PassphraseFile | PlainFile {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ClientError('STORE_CORRUPT', 'storage.key is missing or not JSON', { cause: e });
  }
  if (typeof v !== 'object' || v === null)
    throw new ClientError('STORE_CORRUPT', 'storage.key: not an object');
  const f = v as Record<string, unknown>;
  if (f.format !== KEY_FILE_FORMAT)
    throw new ClientError('STORE_CORRUPT', `storage.key: not a ${KEY_FILE_FORMAT} file`);
  if (f.kind === 'file' && typeof f.key === 'string') return v as PlainFile;
  const kdf = f.kdf as Record<string, unknown> | undefined;
  if (
    f.kind === 'passphrase' &&
    typeof f.nonce === 'string' &&
    typeof f.sealed === 'string' &&
    typeof kdf === 'object' &&
    kdf !== null &&
    kdf.name === 'scrypt' &&
    typeof kdf.salt === 'string'
  ) {
    return v as PassphraseFile;
  }
  throw new ClientError('STORE_CORRUPT', 'storage.key: unknown kind or missing fields');
}

/**
 * Reads the storage key. `passphrase` is required when the file is passphrase-protected;
 * a wrong one is STORE_LOCKED (the AES-GCM tag does not verify).
 */
export function openStorageKey(path: string, passphrase?: string, options: StorageKeyOptions = {}): Buffer {
  const f = parseKeyFile(path);
  if (f.kind === 'file') {
    const key = Buffer.from(f.key, 'base64url');
    if (key.length !== STORAGE_KEY_LENGTH)
      throw new ClientError('STORE_CORRUPT', 'storage.key: wrong key length');
    return key;
  }
  if (passphrase === undefined)
    throw new ClientError('STORE_LOCKED', 'this profile is protected by a passphrase; give it to open');
  let params: ScryptParams;
  try {
    params = checkScryptParams({ N: f.kdf.N, r: f.kdf.r, p: f.kdf.p }, options);
  } catch (e) {
    throw new ClientError('STORE_CORRUPT', 'storage.key: scrypt parameters out of range', { cause: e });
  }
  const sealed = Buffer.from(f.sealed, 'base64url');
  const nonce = Buffer.from(f.nonce, 'base64url');
  if (sealed.length !== STORAGE_KEY_LENGTH + TAG_BYTES || nonce.length !== NONCE_BYTES)
    throw new ClientError('STORE_CORRUPT', 'storage.key: sealed key has the wrong length');
  const kek = scryptKey(passphrase, Buffer.from(f.kdf.salt, 'base64url'), params);
  try {
    const d = createDecipheriv('aes-256-gcm', kek, nonce);
    d.setAAD(wrapAad(params));
    d.setAuthTag(sealed.subarray(STORAGE_KEY_LENGTH));
    return Buffer.concat([d.update(sealed.subarray(0, STORAGE_KEY_LENGTH)), d.final()]);
  } catch (e) {
    throw new ClientError('STORE_LOCKED', 'wrong passphrase (or a damaged storage.key)', { cause: e });
  } finally {
    kek.fill(0);
  }
}
