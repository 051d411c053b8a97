/**
 * The witness's own Ed25519 key, which cosigns checkpoints (C2SP tlog-cosignature v1).
 * A JSON file of mode 0600 holding the key name and the PKCS#8 private key; its public
 * half is the type-0x04 verifier key that relying parties configure to trust this witness.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CosignatureSigner, formatVerifierKey, isValidKeyName } from '@custos/core';
import { ConsoleError } from '../console-error.js';
import { exists, writePrivateFile } from '../private-files.js';

/** Format tag of a witness key file. */
export const WITNESS_KEY_FORMAT = 'custos-witness-key';
const MAX_KEY_FILE_BYTES = 16 * 1024;

/** Creates a new witness key at `path` (refusing to overwrite); returns its verifier key. */
export function createWitnessKey(path: string, name: string): string {
  if (!isValidKeyName(name))
    throw new ConsoleError(
      'INVALID_OPTIONS',
      'the witness name must be printable ASCII without spaces or "+"',
    );
  if (exists(path))
    throw new ConsoleError('OUT_EXISTS', `${path} exists; a witness key is never overwritten`);
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
  writePrivateFile(
    path,
    `${JSON.stringify({ format: WITNESS_KEY_FORMAT, version: 1, name, privateKey: pem })}\n`,
  );
  return formatVerifierKey(new CosignatureSigner(name, privateKey).verifierKey());
}

/** Loads a witness key file as a cosigner. Messages never include the file's content. */
export function loadWitnessKey(path: string, clock?: () => number): CosignatureSigner {
  let o: Record<string, unknown>;
  try {
    const buf = readFileSync(path);
    if (buf.length > MAX_KEY_FILE_BYTES) throw new Error('too large');
    o = JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ConsoleError('PROFILE_INVALID', `${path} is not a readable witness key file`, { cause: e });
  }
  if (
    o.format !== WITNESS_KEY_FORMAT ||
    o.version !== 1 ||
    typeof o.name !== 'string' ||
    typeof o.privateKey !== 'string'
  )
    throw new ConsoleError(
      'PROFILE_INVALID',
      `${path} is not a witness key file (format ${WITNESS_KEY_FORMAT})`,
    );
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: o.privateKey, format: 'pem' });
  } catch (e) {
    throw new ConsoleError('PROFILE_INVALID', `${path}: the private key does not parse`, { cause: e });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new ConsoleError('PROFILE_INVALID', `${path}: the witness key must be Ed25519`);
  return clock === undefined ? new CosignatureSigner(o.name, key) : new CosignatureSigner(o.name, key, clock);
}
