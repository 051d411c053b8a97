/** Device registration with an enrolment code. */
import { Type, type Static } from 'typebox';
import { DEVICE_REGISTRATION_BODY_LIMIT_BYTES, MAX_PREKEYS_PER_UPLOAD } from '../../config/defaults.js';
import { assertMayAddDevice } from '../../auth/enrolment-authority.js';
import { checkKemPublicKey, parseEcPublicKey, verifySignature } from '../../auth/key-checks.js';
import { parseEnrolmentCode, sha256 } from '../../crypto/secrets.js';
import { ServerError } from '../../errors.js';
import { newId, type DeviceId } from '../../ids.js';
import { DeviceNumberTakenError } from '../../store/directory-stores.js';
import type { KyberPreKey } from '../../store/records.js';
import { defineRoute, PUBLIC } from '../route-def.js';
import { Bytes, decodeBytes, Id } from '../schema-helpers.js';
import { OrgParams, orgPublic, OrgPublicSchema } from './common-schemas.js';

const KeyId = Type.Integer({ minimum: 0, maximum: 0xffffff, description: 'prekey id (24 bits)' });
const SignedKey = (bytes: [number, number], what: string) =>
  Type.Object(
    {
      keyId: KeyId,
      publicKey: Bytes(bytes[0], bytes[1], what),
      signature: Bytes(64, 64, 'identity-key signature'),
    },
    { additionalProperties: false },
  );
const KYBER_KEY_BYTES: [number, number] = [1, 2048];

const RegisterDeviceBody = Type.Object(
  {
    enrolmentCode: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'the one-time code an admin issued',
    }),
    identityKey: Bytes(33, 33, 'libsignal identity public key'),
    origin: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 300,
        description:
          'the origin the device reached (scheme://host[:port]); when given it must be the origin this server signs logins for, checked before the code is spent',
      }),
    ),
    registrationId: Type.Integer({ minimum: 1, maximum: 16380, description: 'libsignal registration id' }),
    signedPreKey: SignedKey([33, 33], 'EC public key'),
    lastResortKyberPreKey: SignedKey(KYBER_KEY_BYTES, 'Kyber public key'),
    kyberPreKeys: Type.Array(SignedKey(KYBER_KEY_BYTES, 'Kyber public key'), {
      maxItems: MAX_PREKEYS_PER_UPLOAD,
    }),
    oneTimePreKeys: Type.Array(
      Type.Object(
        { keyId: KeyId, publicKey: Bytes(33, 33, 'EC public key') },
        { additionalProperties: false },
      ),
      { maxItems: MAX_PREKEYS_PER_UPLOAD },
    ),
  },
  { additionalProperties: false },
);

const RegisterDeviceResponse = Type.Object(
  {
    orgId: Id('organisation'),
    userId: Id('the enrolled user'),
    deviceId: Id('the new device'),
    deviceNumber: Type.Integer({ description: 'libsignal device number within the user' }),
    linkedFrom: Type.Union([Id("the user's own device that issued the code (a link code)"), Type.Null()], {
      description:
        "null for an admin's enrolment code: the new device then warns of any other active device of its user, " +
        'which the server should have refused (USER_HAS_DEVICE)',
    }),
    org: OrgPublicSchema,
  },
  { additionalProperties: false },
);

type SignedKeyInput = Static<ReturnType<typeof SignedKey>>;

function uniqueKeyIds(field: string, keys: readonly { keyId: number }[]): void {
  if (new Set(keys.map((k) => k.keyId)).size !== keys.length) {
    throw new ServerError('INVALID_REQUEST', `${field}: duplicate keyId`);
  }
}

/** POST /v1/orgs/:orgId/devices */
export const registerDeviceRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/devices',
  summary:
    'Registers a device with a one-time enrolment code: identity key, registration id, signed prekey, ' +
    'Kyber prekeys (one last-resort) and one-time prekeys; every prekey signature is checked first.',
  access: PUBLIC,
  bodyLimit: DEVICE_REGISTRATION_BODY_LIMIT_BYTES,
  params: OrgParams,
  body: RegisterDeviceBody,
  response: { status: 201, schema: RegisterDeviceResponse },
  errors: [
    'ENROLMENT_CODE_INVALID',
    'ENROLMENT_CODE_EXPIRED',
    'ENROLMENT_CODE_USED',
    'INVALID_KEY',
    'USER_NOT_FOUND',
    'USER_HAS_DEVICE',
    'ENROLMENT_CONFLICT',
  ],
  async handler({ body, params }, deps) {
    const code = parseEnrolmentCode(body.enrolmentCode);
    if (code === null) throw new ServerError('ENROLMENT_CODE_INVALID', 'the enrolment code is malformed');
    if (code.orgId !== params.orgId) {
      throw new ServerError('ENROLMENT_CODE_INVALID', 'the enrolment code is for another organisation');
    }
    const orgId = code.orgId;
    // A device signs the origin it reached into every login and the server accepts only its
    // own: a device that reached this server under another name (a proxy without --origin)
    // could never log in, so refuse before the one-time code is spent, not after.
    if (body.origin !== undefined && body.origin !== deps.origin()) {
      throw new ServerError(
        'INVALID_REQUEST',
        `body.origin: this server takes logins for ${deps.origin()}, not ${body.origin}: enrol at ${deps.origin()}, or have the operator set --origin to ${body.origin} and restart the server (a key ceremony resumes only with its own --server, so it needs the latter); the code is still valid`,
      );
    }

    // Every key is checked before the code is spent: a bad upload changes nothing.
    const identityKey = decodeBytes('body.identityKey', body.identityKey, 33);
    const identity = parseEcPublicKey('body.identityKey', identityKey);
    const signedPreKey = decodeSigned('body.signedPreKey', body.signedPreKey);
    parseEcPublicKey('body.signedPreKey.publicKey', signedPreKey.publicKey);
    verifySignature(identity, 'body.signedPreKey', signedPreKey.publicKey, signedPreKey.signature);
    uniqueKeyIds('body.kyberPreKeys', [...body.kyberPreKeys, body.lastResortKyberPreKey]);
    uniqueKeyIds('body.oneTimePreKeys', body.oneTimePreKeys);
    const kyber: KyberPreKey[] = [
      { ...decodeSigned('body.lastResortKyberPreKey', body.lastResortKyberPreKey), lastResort: true },
      ...body.kyberPreKeys.map((k, i) => ({
        ...decodeSigned(`body.kyberPreKeys.${i}`, k),
        lastResort: false,
      })),
    ];
    kyber.forEach((k, i) => {
      const field = i === 0 ? 'body.lastResortKyberPreKey' : `body.kyberPreKeys.${i - 1}`;
      checkKemPublicKey(`${field}.publicKey`, k.publicKey);
      verifySignature(identity, field, k.publicKey, k.signature);
    });
    const oneTime = body.oneTimePreKeys.map((k, i) => {
      const publicKey = decodeBytes(`body.oneTimePreKeys.${i}.publicKey`, k.publicKey, 33);
      parseEcPublicKey(`body.oneTimePreKeys.${i}.publicKey`, publicKey);
      return { keyId: k.keyId, publicKey };
    });

    const now = deps.clock();
    const { device, org, linkedFrom } = await deps.stores
      .withTransaction(async (tx) => {
        const consumed = await tx.enrolmentCodes.consume(orgId, sha256(body.enrolmentCode), now);
        if (consumed.status !== 'ok') {
          if (consumed.status === 'expired') throw new ServerError('ENROLMENT_CODE_EXPIRED');
          if (consumed.status === 'used') throw new ServerError('ENROLMENT_CODE_USED');
          throw new ServerError('ENROLMENT_CODE_INVALID', 'the enrolment code is unknown');
        }
        const user = await tx.users.get(orgId, consumed.value);
        if (user === undefined) throw new ServerError('USER_NOT_FOUND');
        // SECURITY: a code issued while the user had no device (or by a device since revoked)
        // MUST NOT add one now that they have one; throwing rolls the consume back (code unused).
        const issued = await tx.enrolmentCodes.find(orgId, sha256(body.enrolmentCode));
        await assertMayAddDevice(tx, orgId, user.userId, issued?.createdBy ?? null, 'redeem');
        const by = issued?.createdBy ?? null;
        const issuer = by === null ? undefined : await tx.devices.get(orgId, by);
        const linkedFrom = issuer?.userId === user.userId ? issuer.deviceId : null;
        const org = await tx.orgs.get(orgId);
        if (org === undefined) throw new ServerError('ORG_NOT_FOUND');
        const device = await tx.devices.create(orgId, {
          deviceId: newId<DeviceId>(),
          userId: user.userId,
          identityKey,
          registrationId: body.registrationId,
          createdAt: now,
        });
        await tx.prekeys.putSignedPreKey(orgId, device.deviceId, signedPreKey);
        await tx.prekeys.addKyberPreKeys(orgId, device.deviceId, kyber);
        await tx.prekeys.addOneTimePreKeys(orgId, device.deviceId, oneTime);
        await deps.audit.record(tx, orgId, {
          kind: 'device.register',
          actorDeviceId: device.deviceId,
          subject: device.deviceId,
          // The log commits to the identity key (docs/log.md): consoles check served keys against it.
          detail: `${user.userId} identity=${identityKeyCommitment(identityKey)}`,
          at: now,
        });
        return { device, org, linkedFrom };
      })
      .catch(rethrowRace);
    return {
      orgId,
      userId: device.userId,
      deviceId: device.deviceId,
      deviceNumber: device.deviceNumber,
      linkedFrom,
      org: orgPublic(org),
    };
  },
});

/**
 * A device insert that lost a race (assertMayAddDevice's lock rules it out; kept as a
 * backstop) is ENROLMENT_CONFLICT, which the caller may retry, rather than INTERNAL.
 */
function rethrowRace(e: unknown): never {
  if (e instanceof DeviceNumberTakenError) {
    throw new ServerError(
      'ENROLMENT_CONFLICT',
      `${e.message}: nothing was stored and the code is still unused; retry`,
      { cause: e },
    );
  }
  throw e;
}

/** base64url SHA-256 of the serialized identity public key, as the `device.register` act's detail commits to it. */
function identityKeyCommitment(identityKey: Buffer): string {
  return Buffer.from(sha256(identityKey)).toString('base64url');
}

function decodeSigned(
  field: string,
  k: SignedKeyInput,
): { keyId: number; publicKey: Buffer; signature: Buffer } {
  return {
    keyId: k.keyId,
    publicKey: decodeBytes(`${field}.publicKey`, k.publicKey),
    signature: decodeBytes(`${field}.signature`, k.signature, 64),
  };
}
