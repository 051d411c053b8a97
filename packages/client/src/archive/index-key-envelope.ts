/**
 * Blind-index keys sealed to a device (docs/client.md §6). An officer's console derives the
 * bucket's index key (core/blind-index) and seals it to the device's Signal identity key
 * with libsignal's HPKE (`PublicKey.seal`: X25519, HKDF-SHA256, AES-256-GCM); the server
 * stores the opaque blob (`PUT /v1/orgs/:orgId/buckets/:bucketId/index-keys/:deviceId`) and
 * the device opens it with its identity private key. The AAD binds org, bucket and device,
 * so a blob cannot be replayed for another bucket or device.
 */
import { PublicKey, type PrivateKey } from '@signalapp/libsignal-client';
import { BLIND_INDEX_KEY_LENGTH } from '@custos/core';
import { ClientError } from '../errors.js';

/** HPKE info string of sealed index keys. */
export const INDEX_KEY_SEAL_INFO = 'custos-index-key-v1';

type Buf = Uint8Array<ArrayBuffer>;

function aad(orgId: string, bucketId: string, deviceId: string): Buf {
  return new Uint8Array(Buffer.from(`${INDEX_KEY_SEAL_INFO}\0${orgId}\0${bucketId}\0${deviceId}`, 'utf8'));
}

/** Seals a bucket's 32-byte index key to a device's identity public key (33 bytes). */
export function sealIndexKeyForDevice(
  deviceIdentityKey: Uint8Array,
  orgId: string,
  bucketId: string,
  deviceId: string,
  indexKey: Uint8Array,
): Uint8Array {
  if (indexKey.length !== BLIND_INDEX_KEY_LENGTH)
    throw new ClientError('BUCKET_KEY_INVALID', `an index key is ${BLIND_INDEX_KEY_LENGTH} bytes`);
  const pub = PublicKey.deserialize(new Uint8Array(deviceIdentityKey));
  return pub.seal(new Uint8Array(indexKey), INDEX_KEY_SEAL_INFO, aad(orgId, bucketId, deviceId));
}

/** Opens a sealed index key with the device's identity private key. MUST NOT log the result. */
export function openIndexKey(
  identityKey: PrivateKey,
  orgId: string,
  bucketId: string,
  deviceId: string,
  sealed: Uint8Array,
): Uint8Array {
  let key: Uint8Array;
  try {
    key = identityKey.open(new Uint8Array(sealed), INDEX_KEY_SEAL_INFO, aad(orgId, bucketId, deviceId));
  } catch (e) {
    throw new ClientError('BUCKET_KEY_INVALID', `the index key of bucket ${bucketId} does not open`, {
      cause: e,
    });
  }
  if (key.length !== BLIND_INDEX_KEY_LENGTH)
    throw new ClientError('BUCKET_KEY_INVALID', `the index key of bucket ${bucketId} has the wrong length`);
  return key;
}
