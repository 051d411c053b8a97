/**
 * Prekey generation: the signed EC prekey, the last-resort and one-time Kyber prekeys
 * (PQXDH) and one-time EC prekeys. Private halves go into the encrypted store first; the
 * public halves, signed by the identity key, are what the server gets.
 */
import {
  KEMKeyPair,
  KyberPreKeyRecord,
  PreKeyRecord,
  PrivateKey,
  SignedPreKeyRecord,
  type IdentityKeyPair,
} from '@signalapp/libsignal-client';
import type { LocalStore } from '../store/local-store.js';
import type { SignalStores } from '../store/signal-stores.js';

/** One-time EC prekeys kept on the server (replenishment tops up to this). */
export const DEFAULT_ONE_TIME_PREKEYS = 100;
/** One-time Kyber prekeys kept on the server (above the server's low threshold of 20). */
export const DEFAULT_KYBER_PREKEYS = 40;
/** libsignal prekey ids are 24-bit. */
const MAX_KEY_ID = 0xffffff;

/** A signed public key as the server's API takes it (base64url). */
export interface SignedKeyUpload {
  readonly keyId: number;
  readonly publicKey: string;
  readonly signature: string;
}

/** The prekey part of a registration or `PUT /v1/prekeys` body. */
export interface PrekeyUpload {
  signedPreKey?: SignedKeyUpload;
  lastResortKyberPreKey?: SignedKeyUpload;
  kyberPreKeys: SignedKeyUpload[];
  oneTimePreKeys: { keyId: number; publicKey: string }[];
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** Allocates `n` consecutive key ids from a persistent counter, wrapping within 24 bits. */
function allocateIds(store: LocalStore, counter: string, n: number): number[] {
  const start = store.getJson<number>('profile', counter) ?? 1;
  const ids = Array.from({ length: n }, (_, i) => ((start - 1 + i) % MAX_KEY_ID) + 1);
  store.putJson('profile', counter, ((start - 1 + n) % MAX_KEY_ID) + 1);
  return ids;
}

/** What to generate. */
export interface PrekeyRequest {
  readonly oneTime: number;
  readonly kyber: number;
  /** Also a new signed EC prekey and a new last-resort Kyber prekey. */
  readonly rotateSigned: boolean;
}

/**
 * Generates prekeys, stores their private halves, and returns the public upload. Runs in
 * one store transaction so a crash never leaves keys uploaded that the store lacks.
 */
export function generatePrekeys(
  store: LocalStore,
  stores: SignalStores,
  identity: IdentityKeyPair,
  req: PrekeyRequest,
  now: number = Date.now(),
): PrekeyUpload {
  const upload: PrekeyUpload = { kyberPreKeys: [], oneTimePreKeys: [] };
  store.transaction(() => {
    if (req.rotateSigned) {
      const [spkId] = allocateIds(store, 'next-signed-prekey-id', 1);
      const priv = PrivateKey.generate();
      const pub = priv.getPublicKey();
      const sig = identity.privateKey.sign(pub.serialize());
      stores.signedPreKeys.put(spkId!, SignedPreKeyRecord.new(spkId!, now, pub, priv, sig));
      store.putJson('profile', 'current-signed-prekey-id', spkId);
      upload.signedPreKey = { keyId: spkId!, publicKey: b64(pub.serialize()), signature: b64(sig) };
      const [lrId] = allocateIds(store, 'next-kyber-prekey-id', 1);
      const kp = KEMKeyPair.generate();
      const ksig = identity.privateKey.sign(kp.getPublicKey().serialize());
      stores.kyberPreKeys.saveKyberPreKeyWithKind(lrId!, KyberPreKeyRecord.new(lrId!, now, kp, ksig), true);
      upload.lastResortKyberPreKey = {
        keyId: lrId!,
        publicKey: b64(kp.getPublicKey().serialize()),
        signature: b64(ksig),
      };
    }
    for (const id of allocateIds(store, 'next-kyber-prekey-id', req.kyber)) {
      const kp = KEMKeyPair.generate();
      const pub = kp.getPublicKey().serialize();
      const sig = identity.privateKey.sign(pub);
      stores.kyberPreKeys.saveKyberPreKeyWithKind(id, KyberPreKeyRecord.new(id, now, kp, sig), false);
      upload.kyberPreKeys.push({ keyId: id, publicKey: b64(pub), signature: b64(sig) });
    }
    for (const id of allocateIds(store, 'next-prekey-id', req.oneTime)) {
      const priv = PrivateKey.generate();
      stores.preKeys.put(id, PreKeyRecord.new(id, priv.getPublicKey(), priv));
      upload.oneTimePreKeys.push({ keyId: id, publicKey: b64(priv.getPublicKey().serialize()) });
    }
  });
  return upload;
}
