/**
 * Challenge–response authentication with the device's identity key, and the session
 * route. No passwords anywhere: the only credential is a signature, the only result a
 * random token of at most 15 minutes bound to one device. A revoked device still logs in
 * during its archive hand-in window; its token then opens only the `handIn` routes
 * (auth-guard.ts, auth/archive-hand-in.ts).
 *
 * SECURITY: device ids are not secret (envelopes, directories), so nothing a caller learns
 * before proving possession of the identity key may depend on the device's revocation: the
 * challenge step answers a revoked device exactly as a current one, and the token step says
 * DEVICE_REVOKED (with its times) only after the signature verified.
 */
import { randomBytes } from 'node:crypto';
import { Type } from 'typebox';
import { mayHandIn, revokedError } from '../../auth/archive-hand-in.js';
import { authChallengeMessage } from '../../auth/challenge-message.js';
import { parseEcPublicKey, verifySignature } from '../../auth/key-checks.js';
import { CHALLENGE_TTL_MS, MAX_TOKEN_TTL_MS, SECRET_BYTES } from '../../config/defaults.js';
import { newBearerToken, sha256 } from '../../crypto/secrets.js';
import { ServerError } from '../../errors.js';
import { newId, type ChallengeId, type DeviceId, type OrgId } from '../../ids.js';
import type { DeviceRecord } from '../../store/records.js';
import { ANY_ROLE, defineRoute, PUBLIC } from '../route-def.js';
import { Bytes, decodeBytes, Id } from '../schema-helpers.js';
import { Millis, RetentionClassSchema, RoleSchema } from './common-schemas.js';

const ChallengeBody = Type.Object(
  { orgId: Id('organisation'), deviceId: Id('the device that will sign') },
  { additionalProperties: false },
);

const ChallengeResponse = Type.Object(
  {
    challengeId: Id('challenge id'),
    challenge: Bytes(SECRET_BYTES, SECRET_BYTES, 'random challenge'),
    expiresAt: Millis,
    origin: Type.String({ description: 'the origin this server expects in the signed message' }),
  },
  { additionalProperties: false },
);

/**
 * DEVICE_REVOKED unless `device` is current, or revoked with its hand-in window (fixed at its
 * revocation) still open at `now`. Only once the caller has signed with the device's key.
 */
function requireLogin(device: DeviceRecord, now: number): void {
  if (device.revokedAt === null) return;
  if (!mayHandIn(device.handInUntil, now)) throw revokedError(device.revokedAt, device.handInUntil, now);
}

/** POST /v1/auth/challenge */
export const challengeRoute = defineRoute({
  method: 'POST',
  url: '/v1/auth/challenge',
  summary:
    'Issues a single-use random challenge for a device. The device signs ' +
    '"Custos device authentication v1\\n<origin>\\n<orgId>\\n<deviceId>\\n<challenge>" with its identity key. ' +
    'A revoked device gets a challenge like any other: whether it may still log in (its archive hand-in window, ' +
    'docs/threat-model.md) the token step says, once it has signed.',
  access: PUBLIC,
  body: ChallengeBody,
  response: { status: 201, schema: ChallengeResponse },
  errors: ['DEVICE_NOT_FOUND'],
  async handler({ body }, deps) {
    const orgId = body.orgId as OrgId;
    const device = await deps.stores.devices.get(orgId, body.deviceId as DeviceId);
    if (device === undefined) throw new ServerError('DEVICE_NOT_FOUND');
    // SECURITY: MUST NOT depend on `device.revokedAt`: the caller has proved nothing yet. A
    // revoked device's challenges are stored like a current one's: same per-address rate
    // limit, same expiry and sweep, so this opens no storage that any device id did not.
    const challenge = randomBytes(SECRET_BYTES);
    const challengeId = newId<ChallengeId>();
    const expiresAt = deps.clock() + CHALLENGE_TTL_MS;
    await deps.stores.authChallenges.create(orgId, {
      challengeId,
      deviceId: device.deviceId,
      challenge,
      expiresAt,
    });
    return { challengeId, challenge: challenge.toString('base64url'), expiresAt, origin: deps.origin() };
  },
});

const TokenBody = Type.Object(
  {
    orgId: Id('organisation'),
    deviceId: Id('the device that signed'),
    challengeId: Id('from /v1/auth/challenge'),
    signature: Bytes(64, 64, 'identity-key signature over the challenge message'),
  },
  { additionalProperties: false },
);

const TokenResponse = Type.Object(
  {
    token: Type.String({
      description: 'bearer token; send with `Authorization: Bearer` and `Custos-Device`',
    }),
    expiresAt: Millis,
  },
  { additionalProperties: false },
);

/** POST /v1/auth/token */
export const tokenRoute = defineRoute({
  method: 'POST',
  url: '/v1/auth/token',
  summary:
    'Exchanges a signed challenge for a bearer token of at most 15 minutes bound to the device. ' +
    'Any answer spends the challenge, right or wrong. A revoked device during its archive hand-in window ' +
    'gets a token that only the archive upload and head routes take (docs/threat-model.md); otherwise, once its ' +
    'signature verified, DEVICE_REVOKED with its times.',
  access: PUBLIC,
  body: TokenBody,
  response: { status: 201, schema: TokenResponse },
  errors: ['CHALLENGE_INVALID', 'SIGNATURE_INVALID', 'DEVICE_NOT_FOUND', 'DEVICE_REVOKED'],
  async handler({ body }, deps) {
    const orgId = body.orgId as OrgId;
    const signature = decodeBytes('body.signature', body.signature, 64);
    const now = deps.clock();
    // Spent before checking: a challenge gets exactly one answer, so signatures cannot be tried against it.
    const challenge = await deps.stores.authChallenges.take(orgId, body.challengeId as ChallengeId);
    if (challenge === undefined)
      throw new ServerError('CHALLENGE_INVALID', 'the challenge is unknown or already used');
    if (challenge.deviceId !== body.deviceId) {
      throw new ServerError('CHALLENGE_INVALID', 'the challenge was issued to another device');
    }
    if (challenge.expiresAt <= now) throw new ServerError('CHALLENGE_INVALID', 'the challenge has expired');
    const device = await deps.stores.devices.get(orgId, challenge.deviceId);
    if (device === undefined) throw new ServerError('DEVICE_NOT_FOUND');
    const identity = parseEcPublicKey('identityKey', device.identityKey);
    const message = authChallengeMessage({
      origin: deps.origin(),
      orgId,
      deviceId: device.deviceId,
      challenge: challenge.challenge.toString('base64url'),
    });
    verifySignature(identity, 'body.signature', message, signature, 'SIGNATURE_INVALID');
    // SECURITY: after the signature, never before: the revocation's times and whether its
    // hand-in window is open are for the device's key holder only.
    requireLogin(device, now);
    const token = newBearerToken(orgId);
    const expiresAt = now + MAX_TOKEN_TTL_MS;
    await deps.stores.authTokens.create(orgId, {
      tokenHash: sha256(token),
      deviceId: device.deviceId,
      createdAt: now,
      expiresAt,
    });
    return { token, expiresAt };
  },
});

const SessionResponse = Type.Object(
  {
    orgId: Id('organisation'),
    userId: Id('user'),
    deviceId: Id('device'),
    deviceNumber: Type.Integer(),
    role: RoleSchema,
    retentionClass: RetentionClassSchema,
  },
  { additionalProperties: false },
);

/** GET /v1/session */
export const sessionRoute = defineRoute({
  method: 'GET',
  url: '/v1/session',
  summary:
    "Who the bearer token authenticates: organisation, user, device, role and the user's retention class " +
    '(which bucket keys the device seals its archive records to).',
  access: ANY_ROLE,
  response: { status: 200, schema: SessionResponse },
  errors: [],
  async handler({ auth }) {
    return {
      orgId: auth.orgId,
      userId: auth.userId,
      deviceId: auth.deviceId,
      deviceNumber: auth.device.deviceNumber,
      role: auth.role,
      retentionClass: auth.retentionClass,
    };
  },
});
