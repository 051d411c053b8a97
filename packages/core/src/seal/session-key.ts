/**
 * Session keys (docs/archive-format.md §4.2): a device draws a random 32-byte session key,
 * wraps it once with HPKE to a bucket public key, uploads the wrapped key once, and then
 * seals many records under it with symmetric crypto only. Records name their session key
 * by SessionKeyId = SHA-256(wrapped key bytes).
 *
 * Wrapped session key (deterministic CBOR map):
 *   { "v": 1, "org": tstr, "dev": tstr, "bkt": tstr, "enc": bstr(32), "ct": bstr(48) }
 * with enc, ct = HPKE base-mode SealBase(pkR = bucket key, info = "custos-archive-v1 session-key",
 * aad = deterministic CBOR { "v": 1, "org", "dev", "bkt" }, pt = session key).
 */
import { hash, randomBytes } from 'node:crypto';
import { CustosError } from '../errors.js';
import type { BucketId, DeviceId, OrgId, SessionKeyId } from '../record/ids.js';
import { isWellFormedId } from '../record/ids.js';
import { decodeStrict, encodeDeterministic, isCborMap } from '../record/deterministic-cbor.js';
import type { BucketPrivateKey, BucketPublicKey } from './bucket-key.js';
import { archiveHpkeSuite } from './bucket-key.js';
import { RandomSaltPool, RecordCipher } from './record-cipher.js';
import type { SaltSource } from './record-cipher.js';
import {
  BUCKET_KEY_LENGTH,
  RECORD_SALT_LENGTH,
  SEALED_BODY_OVERHEAD,
  SESSION_KEY_HPKE_INFO,
  SESSION_KEY_LENGTH,
  WRAPPED_SESSION_KEY_CT_LENGTH,
} from './seal-params.js';

/** Format version of a wrapped session key. */
export const WRAPPED_SESSION_KEY_VERSION = 1;
/** Largest accepted encoded wrapped session key; real ones are about 200 bytes. */
export const MAX_WRAPPED_SESSION_KEY_BYTES = 512;

const SUITE = archiveHpkeSuite();
const INFO = new TextEncoder().encode(SESSION_KEY_HPKE_INFO);

/** Whose session key this is and which bucket it is sealed to; bound into the HPKE aad. */
export interface WrapContext {
  readonly org: OrgId;
  readonly device: DeviceId;
  readonly bucket: BucketId;
}

/** A decoded wrapped session key (public data: the secret is HPKE-sealed inside `ct`). */
export interface WrappedSessionKey {
  readonly context: WrapContext;
  readonly enc: Uint8Array;
  readonly ct: Uint8Array;
}

/** The HPKE aad for `ctx`: deterministic CBOR { "v", "org", "dev", "bkt" }. */
export function wrapAad(ctx: WrapContext): Uint8Array {
  return encodeDeterministic({
    v: WRAPPED_SESSION_KEY_VERSION,
    org: ctx.org,
    dev: ctx.device,
    bkt: ctx.bucket,
  });
}

/** Encodes a wrapped session key as deterministic CBOR. */
export function encodeWrappedSessionKey(w: WrappedSessionKey): Uint8Array {
  const { org, device, bucket } = w.context;
  return encodeDeterministic({
    v: WRAPPED_SESSION_KEY_VERSION,
    org,
    dev: device,
    bkt: bucket,
    enc: w.enc,
    ct: w.ct,
  });
}

const WRAPPED_KEYS = ['bkt', 'ct', 'dev', 'enc', 'org', 'v'];

/** Strictly decodes a wrapped session key; MALFORMED_RECORD / UNSUPPORTED_VERSION / OVERSIZED_INPUT. */
export function decodeWrappedSessionKey(bytes: Uint8Array): WrappedSessionKey {
  if (bytes.length > MAX_WRAPPED_SESSION_KEY_BYTES) {
    throw new CustosError(
      'OVERSIZED_INPUT',
      `wrapped session key exceeds ${MAX_WRAPPED_SESSION_KEY_BYTES} bytes`,
    );
  }
  const m = decodeStrict(bytes, 'wrapped session key', 'MALFORMED_RECORD');
  const bad = (what: string): never => {
    throw new CustosError('MALFORMED_RECORD', `wrapped session key: ${what}`);
  };
  if (!isCborMap(m)) return bad('not a map');
  if (m.v !== WRAPPED_SESSION_KEY_VERSION) {
    if (typeof m.v === 'number') {
      throw new CustosError(
        'UNSUPPORTED_VERSION',
        `wrapped session key version ${m.v} is not supported (want 1)`,
      );
    }
    return bad('"v" missing or not an integer');
  }
  const keys = Object.keys(m).sort();
  if (keys.join() !== WRAPPED_KEYS.join()) return bad(`fields must be exactly ${WRAPPED_KEYS.join(', ')}`);
  if (!isWellFormedId(m.org)) return bad('"org" is not a well-formed id');
  if (!isWellFormedId(m.dev)) return bad('"dev" is not a well-formed id');
  if (!isWellFormedId(m.bkt)) return bad('"bkt" is not a well-formed id');
  if (!(m.enc instanceof Uint8Array) || m.enc.length !== BUCKET_KEY_LENGTH)
    return bad('"enc" is not 32 bytes');
  if (!(m.ct instanceof Uint8Array) || m.ct.length !== WRAPPED_SESSION_KEY_CT_LENGTH) {
    return bad(`"ct" is not ${WRAPPED_SESSION_KEY_CT_LENGTH} bytes`);
  }
  return {
    context: { org: m.org as OrgId, device: m.dev as DeviceId, bucket: m.bkt as BucketId },
    enc: m.enc,
    ct: m.ct,
  };
}

/** SHA-256 of the exact wrapped-key bytes: the id a record header carries. */
export function sessionKeyIdOf(wrappedKeyBytes: Uint8Array): SessionKeyId {
  return new Uint8Array(hash('sha256', wrappedKeyBytes, 'buffer')) as SessionKeyId;
}

/** A device's sealing handle: the wrapped key to upload, its id, and record sealing. */
export class SessionSealer {
  /** The encoded wrapped session key, uploaded once before any record that names it. */
  readonly wrappedKey: Uint8Array;
  /** SHA-256(wrappedKey). */
  readonly keyId: SessionKeyId;
  /** Org, device and bucket this session key belongs to. */
  readonly context: WrapContext;
  readonly #cipher: RecordCipher;
  readonly #salts: SaltSource;

  private constructor(wrappedKey: Uint8Array, context: WrapContext, cipher: RecordCipher, salts: SaltSource) {
    this.wrappedKey = wrappedKey;
    this.keyId = sessionKeyIdOf(wrappedKey);
    this.context = context;
    this.#cipher = cipher;
    this.#salts = salts;
  }

  /** @internal Use {@link createSessionSealer}. */
  static async wrap(
    bucketKey: BucketPublicKey,
    context: WrapContext,
    sessionKey: Uint8Array,
    ikmE: Uint8Array | undefined,
    salts: SaltSource,
  ): Promise<SessionSealer> {
    for (const [k, v] of Object.entries(context)) {
      if (!isWellFormedId(v))
        throw new CustosError('INVALID_ARGUMENT', `wrap context ${k} is not a well-formed id`);
    }
    // MUST NOT log: key material (sessionKey, ikmE)
    const sealed = await SUITE.seal(
      { recipientPublicKey: bucketKey.cryptoKey, info: INFO, ...(ikmE === undefined ? {} : { ekm: ikmE }) },
      sessionKey,
      wrapAad(context),
    );
    const wrapped = encodeWrappedSessionKey({
      context,
      enc: new Uint8Array(sealed.enc),
      ct: new Uint8Array(sealed.ct),
    });
    return new SessionSealer(wrapped, context, new RecordCipher(sessionKey), salts);
  }

  /** Seals one record body bound to `headerBytes`: salt || AES-256-GCM ciphertext || tag. */
  sealBody(headerBytes: Uint8Array, body: Uint8Array): Uint8Array {
    return this.#cipher.seal(this.#salts, headerBytes, body);
  }

  /** Like {@link sealBody}, writing into `out` at `at` (body.length + 32 bytes). */
  sealBodyInto(out: Uint8Array, at: number, headerBytes: Uint8Array, body: Uint8Array): void {
    this.#cipher.sealInto(out, at, this.#salts, headerBytes, body);
  }

  /** Zeroes the session key; the sealer is unusable afterwards. */
  destroy(): void {
    this.#cipher.destroy();
  }
}

/** Draws a fresh session key, wraps it to `bucketKey` for `context`, and returns the sealer. */
export async function createSessionSealer(
  bucketKey: BucketPublicKey,
  context: WrapContext,
): Promise<SessionSealer> {
  const sessionKey = randomBytes(SESSION_KEY_LENGTH); // MUST NOT log: key material
  try {
    return await SessionSealer.wrap(bucketKey, context, sessionKey, undefined, new RandomSaltPool());
  } finally {
    sessionKey.fill(0);
  }
}

/**
 * DANGEROUS — test vectors only. Wraps a caller-chosen session key with caller-chosen HPKE
 * ephemeral input keying material and seals with caller-chosen salts. Reusing a salt under
 * one session key reuses an AES-GCM key and nonce. Not exported from the package.
 */
export async function createSessionSealerDeterministicForVectorsOnly(
  bucketKey: BucketPublicKey,
  context: WrapContext,
  sessionKey: Uint8Array,
  ikmE: Uint8Array,
  salts: SaltSource,
): Promise<SessionSealer> {
  return SessionSealer.wrap(bucketKey, context, Uint8Array.from(sessionKey), Uint8Array.from(ikmE), salts);
}

/** An officer's opening handle for one unwrapped session key. */
export class SessionOpener {
  /** SHA-256 of the wrapped key this opener came from. */
  readonly keyId: SessionKeyId;
  /** Org, device and bucket the wrapped key was bound to. */
  readonly context: WrapContext;
  readonly #cipher: RecordCipher;

  private constructor(keyId: SessionKeyId, context: WrapContext, cipher: RecordCipher) {
    this.keyId = keyId;
    this.context = context;
    this.#cipher = cipher;
  }

  /** @internal Use {@link openSessionKey}. */
  static create(keyId: SessionKeyId, context: WrapContext, sessionKey: Uint8Array): SessionOpener {
    return new SessionOpener(keyId, context, new RecordCipher(sessionKey));
  }

  /** Opens a sealed body bound to `headerBytes`; throws DECRYPTION_FAILED. */
  openBody(headerBytes: Uint8Array, sealed: Uint8Array): Uint8Array {
    return this.#cipher.open(headerBytes, sealed);
  }

  /** {@link openBody} of the sealed body at `buf[start..end)`, opened in place. */
  openBodyAt(headerBytes: Uint8Array, buf: Uint8Array, start: number, end: number): Uint8Array {
    return this.#cipher.openAt(headerBytes, buf, start, end);
  }

  /**
   * The record key of the sealed body `sealed` (salt || ciphertext || tag): HMAC of the
   * session key over the label and the body's salt (docs/archive-format.md §4.2), which
   * opens that one record alone ({@link openWithRecordKey}). For custody manifests, which
   * hand an export's recipient the key of each exported record. MUST NOT log: key material.
   */
  recordKeyOf(sealed: Uint8Array): Uint8Array {
    if (sealed.length < SEALED_BODY_OVERHEAD) {
      throw new CustosError('MALFORMED_RECORD', `a sealed body is at least ${SEALED_BODY_OVERHEAD} bytes`);
    }
    return this.#cipher.deriveRecordKey(sealed.subarray(0, RECORD_SALT_LENGTH));
  }

  /** Zeroes the session key. */
  destroy(): void {
    this.#cipher.destroy();
  }
}

/**
 * Unwraps an encoded wrapped session key with the bucket private key. Throws
 * MALFORMED_RECORD for a bad encoding and DECRYPTION_FAILED when HPKE rejects it (wrong
 * bucket key, or any byte of enc, ct, org, device or bucket changed).
 */
export async function openSessionKey(
  bucketKey: BucketPrivateKey,
  wrappedKeyBytes: Uint8Array,
): Promise<SessionOpener> {
  const w = decodeWrappedSessionKey(wrappedKeyBytes);
  let pt: ArrayBuffer;
  try {
    pt = await SUITE.open(
      { recipientKey: bucketKey.cryptoKey, enc: w.enc, info: INFO },
      w.ct,
      wrapAad(w.context),
    );
  } catch (e) {
    throw new CustosError('DECRYPTION_FAILED', 'wrapped session key did not open with this bucket key', {
      cause: e,
    });
  }
  const sessionKey = new Uint8Array(pt); // MUST NOT log: key material
  try {
    return SessionOpener.create(sessionKeyIdOf(wrappedKeyBytes), w.context, sessionKey);
  } finally {
    sessionKey.fill(0);
  }
}
