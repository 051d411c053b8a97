/** Wire shapes of prekeys: uploads (with identity-key signatures) and bundles. */
import { Type, type Static } from 'typebox';
import { MAX_PREKEYS_PER_UPLOAD } from '../config/defaults.js';
import { Bytes, Id } from '../http/schema-helpers.js';

/** A prekey id (libsignal uses 24 bits). */
export const KeyIdSchema = Type.Integer({
  minimum: 0,
  maximum: 0xffffff,
  description: 'prekey id (24 bits)',
});
/** Bounds of a serialized Kyber public key. */
export const KYBER_KEY_BYTES: readonly [number, number] = [1, 2048];

/** A prekey signed by the identity key (EC signed prekey or Kyber prekey). */
export function SignedKeySchema(bytes: readonly [number, number], what: string) {
  return Type.Object(
    {
      keyId: KeyIdSchema,
      publicKey: Bytes(bytes[0], bytes[1], what),
      signature: Bytes(64, 64, 'identity-key signature'),
    },
    { additionalProperties: false },
  );
}
/** A signed EC prekey. */
export const SignedEcKeySchema = SignedKeySchema([33, 33], 'EC public key');
/** A signed Kyber prekey. */
export const SignedKyberKeySchema = SignedKeySchema(KYBER_KEY_BYTES, 'Kyber public key');
/** A one-time EC prekey. */
export const OneTimeKeySchema = Type.Object(
  { keyId: KeyIdSchema, publicKey: Bytes(33, 33, 'EC public key') },
  { additionalProperties: false },
);

/** `PUT /v1/prekeys`: any subset of new keys. */
export const PrekeyUploadSchema = Type.Object(
  {
    signedPreKey: Type.Optional(SignedEcKeySchema),
    lastResortKyberPreKey: Type.Optional(SignedKyberKeySchema),
    kyberPreKeys: Type.Optional(Type.Array(SignedKyberKeySchema, { maxItems: MAX_PREKEYS_PER_UPLOAD })),
    oneTimePreKeys: Type.Optional(Type.Array(OneTimeKeySchema, { maxItems: MAX_PREKEYS_PER_UPLOAD })),
  },
  { additionalProperties: false },
);
/** An upload as validated. */
export type PrekeyUpload = Static<typeof PrekeyUploadSchema>;

/** How many prekeys a device has left, and whether it should upload more. */
export const PrekeyStatusSchema = Type.Object(
  {
    oneTime: Type.Integer({ description: 'one-time EC prekeys left' }),
    kyber: Type.Integer({ description: 'one-time Kyber prekeys left' }),
    signedPreKey: Type.Boolean(),
    lastResortKyberPreKey: Type.Boolean(),
    threshold: Type.Integer({
      description: 'below this many (of either kind) the device should upload more',
    }),
    low: Type.Boolean({ description: 'oneTime or kyber is below threshold' }),
  },
  { additionalProperties: false },
);
/** A prekey status. */
export type PrekeyStatus = Static<typeof PrekeyStatusSchema>;

/** One device's bundle. */
export const DeviceBundleSchema = Type.Object(
  {
    deviceId: Id('device id'),
    deviceNumber: Type.Integer({ description: 'libsignal device number' }),
    registrationId: Type.Integer({ description: 'libsignal registration id' }),
    identityKey: Bytes(33, 33, 'libsignal identity public key'),
    signedPreKey: SignedEcKeySchema,
    oneTimePreKey: Type.Union([OneTimeKeySchema, Type.Null()], {
      description: 'null when the device has none left (PQXDH proceeds without)',
    }),
    kyberPreKey: SignedKyberKeySchema,
  },
  { additionalProperties: false },
);
/** A device bundle. */
export type DeviceBundle = Static<typeof DeviceBundleSchema>;
