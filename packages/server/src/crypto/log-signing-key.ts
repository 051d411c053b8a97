/**
 * The install's log-signing key (Ed25519), generated on first start into a file of mode
 * 0600, or read from the configured path. It lives as a KeyObject behind a handle: the
 * bytes are never exposed, logged, or serialised (inspect and JSON print a placeholder).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { ConfigError } from '../config/config-error.js';

/** Ed25519 SPKI DER prefix; the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX_LENGTH = 12;

/** A handle on the log-signing private key. MUST NOT be logged: it holds key material. */
export class LogSigningKey {
  readonly #key: KeyObject;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Buffer;

  constructor(key: KeyObject) {
    if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
      throw new ConfigError('logSigningKey', 'the log-signing key must be an Ed25519 private key');
    }
    this.#key = key;
    const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
    this.publicKey = spki.subarray(ED25519_SPKI_PREFIX_LENGTH);
  }

  /** Signs `message` (Ed25519, 64 bytes). */
  sign(message: Uint8Array): Buffer {
    return sign(null, message, this.#key);
  }

  /** Never prints the key. */
  toJSON(): string {
    return '[LogSigningKey]';
  }

  /** Never prints the key. */
  [inspect.custom](): string {
    return '[LogSigningKey]';
  }
}

/** Loads the key at `path`, or generates it there (mode 0600) when the file does not exist. */
export function loadOrCreateLogSigningKey(path: string): { key: LogSigningKey; created: boolean } {
  let pem: string;
  let created = false;
  try {
    const st = statSync(path);
    // Like ssh: a key readable by others is refused rather than used.
    if ((st.mode & 0o077) !== 0) {
      throw new ConfigError(
        'logSigningKey',
        `${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 on it`,
      );
    }
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError('logSigningKey', `cannot read ${path}`, { cause: e });
    }
    const { privateKey } = generateKeyPairSync('ed25519');
    pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    // 'wx': never overwrite a key that appeared meanwhile.
    writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
    created = true;
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new ConfigError('logSigningKey', `${path} does not hold a PEM private key`, { cause: e });
  }
  return { key: new LogSigningKey(key), created };
}
