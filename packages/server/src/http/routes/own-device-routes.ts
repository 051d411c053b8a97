/**
 * A user's own devices, for any role: list them, link a new one with a short-lived one-time
 * link code, revoke another one. A link code is an enrolment code for the caller's own user
 * (same `ce1.<org>.<secret>.<org key fingerprint>` form, same registration route, same org
 * pinning on the new device), issued by a device instead of an admin. Issuing and revoking
 * are audit entries in the org's log.
 */
import { Type } from 'typebox';
import {
  DEFAULT_LINK_CODE_TTL_MS,
  LINK_CODE_RATE_WINDOW_MS,
  LINK_CODES_PER_WINDOW,
  LIST_PAGE_MAX,
  MAX_LINK_CODE_TTL_MS,
} from '../../config/defaults.js';
import { revokeAndDisconnect } from '../../auth/device-revocation.js';
import { newEnrolmentCode, sha256 } from '../../crypto/secrets.js';
import { ServerError } from '../../errors.js';
import type { DeviceId } from '../../ids.js';
import type { DeviceRecord } from '../../store/records.js';
import { ANY_ROLE, defineRoute } from '../route-def.js';
import { Bytes, encodeBytes, Id } from '../schema-helpers.js';
import { Millis, RevocationQuery, RevocationResponse } from './common-schemas.js';

/** Shortest lifetime a device may ask for, in seconds. */
const MIN_LINK_CODE_TTL_SECONDS = 60;

const OwnDeviceSchema = Type.Object(
  {
    deviceId: Id('device'),
    deviceNumber: Type.Integer({ description: 'libsignal device number within the user' }),
    identityKey: Bytes(33, 33, 'libsignal identity public key'),
    createdAt: Millis,
    revokedAt: Type.Union([Millis, Type.Null()]),
    current: Type.Boolean({ description: 'true for the calling device' }),
  },
  { additionalProperties: false },
);

/** POST /v1/devices/link-codes */
export const createLinkCodeRoute = defineRoute({
  method: 'POST',
  url: '/v1/devices/link-codes',
  summary:
    "Issues a one-time, short-lived link code for the caller's own user: a new device enrols with it exactly as " +
    `with an admin's enrolment code (POST /v1/orgs/:orgId/devices). Only its SHA-256 is stored; at most ` +
    `${LINK_CODES_PER_WINDOW} per device per hour (RATE_LIMITED); audited as \`link-code.create\`.`,
  access: ANY_ROLE,
  body: Type.Object(
    {
      ttlSeconds: Type.Optional(
        Type.Integer({
          minimum: MIN_LINK_CODE_TTL_SECONDS,
          maximum: MAX_LINK_CODE_TTL_MS / 1000,
          description: `lifetime, default ${DEFAULT_LINK_CODE_TTL_MS / 1000}`,
        }),
      ),
    },
    { additionalProperties: false },
  ),
  response: {
    status: 201,
    schema: Type.Object(
      {
        code: Type.String({ description: 'the link code: enter it on the new device' }),
        expiresAt: Millis,
        signingKeyFingerprint: Type.String(),
      },
      { additionalProperties: false },
    ),
  },
  errors: ['ORG_NOT_FOUND'],
  async handler({ auth, body, reply }, deps) {
    const now = deps.clock();
    const expiresAt =
      now + (body.ttlSeconds === undefined ? DEFAULT_LINK_CODE_TTL_MS : body.ttlSeconds * 1000);
    return deps.stores.withTransaction(async (tx) => {
      // Codes for the caller's own user: link codes (and an admin's codes for themself).
      const recent = await tx.enrolmentCodes.countCreatedBy(
        auth.orgId,
        auth.deviceId,
        auth.userId,
        now - LINK_CODE_RATE_WINDOW_MS,
      );
      if (recent >= LINK_CODES_PER_WINDOW) {
        void reply.header('retry-after', String(Math.ceil(LINK_CODE_RATE_WINDOW_MS / 1000)));
        throw new ServerError(
          'RATE_LIMITED',
          `this device has issued ${LINK_CODES_PER_WINDOW} link codes in the last hour; retry later`,
        );
      }
      const org = await tx.orgs.get(auth.orgId);
      if (org === undefined) throw new ServerError('ORG_NOT_FOUND');
      const code = newEnrolmentCode(auth.orgId, org.signingKeyFingerprint);
      await tx.enrolmentCodes.create(auth.orgId, {
        codeHash: sha256(code),
        userId: auth.userId,
        createdBy: auth.deviceId,
        createdAt: now,
        expiresAt,
      });
      await deps.audit.record(tx, auth.orgId, {
        kind: 'link-code.create',
        actorDeviceId: auth.deviceId,
        subject: auth.userId,
        detail: null,
        at: now,
      });
      return { code, expiresAt, signingKeyFingerprint: org.signingKeyFingerprint };
    });
  },
});

/** GET /v1/devices */
export const listOwnDevicesRoute = defineRoute({
  method: 'GET',
  url: '/v1/devices',
  summary:
    "The caller's own user's devices, revoked ones included, by device number, with their identity keys " +
    '(public) so the user can compare them with what each device shows.',
  access: ANY_ROLE,
  response: {
    status: 200,
    schema: Type.Object({ devices: Type.Array(OwnDeviceSchema) }, { additionalProperties: false }),
  },
  errors: [],
  async handler({ auth }, deps) {
    // Every page: revoked devices stay listed, so a user's count only grows.
    const rows: DeviceRecord[] = [];
    for (let after: DeviceId | null = null; ;) {
      const page = await deps.stores.devices.list(auth.orgId, { after, limit: LIST_PAGE_MAX }, auth.userId);
      rows.push(...page);
      const last = page.at(-1);
      if (page.length < LIST_PAGE_MAX || last === undefined) break;
      after = last.deviceId;
    }
    return {
      devices: rows
        .sort((a, b) => a.deviceNumber - b.deviceNumber)
        .map((d) => ({
          deviceId: d.deviceId,
          deviceNumber: d.deviceNumber,
          identityKey: encodeBytes(d.identityKey),
          createdAt: d.createdAt,
          revokedAt: d.revokedAt,
          current: d.deviceId === auth.deviceId,
        })),
    };
  },
});

/** POST /v1/devices/:deviceId/revoke */
export const revokeOwnDeviceRoute = defineRoute({
  method: 'POST',
  url: '/v1/devices/:deviceId/revoke',
  summary:
    "Revokes another device of the caller's own user (a lost phone): its open sockets close at once (code " +
    '4003), from its next request on it is refused, and it cannot log in. With `allowHandIn` it may still log in ' +
    "to hand in the archive records it sealed before, for the server's hand-in window from now " +
    "(docs/threat-model.md): only for a device in its user's hands with records queued; by default it may not " +
    '(a lost or stolen device is locked out at once). ' +
    "Another user's device is DEVICE_NOT_FOUND; the calling device cannot revoke itself (it retires: POST /v1/devices/retire). " +
    'Audited as `device.revoke`.',
  access: ANY_ROLE,
  params: Type.Object({ deviceId: Id('one of your other devices') }, { additionalProperties: false }),
  query: RevocationQuery,
  response: { status: 200, schema: RevocationResponse },
  errors: ['DEVICE_NOT_FOUND', 'DEVICE_ALREADY_REVOKED'],
  async handler({ auth, params, query }, deps) {
    const deviceId = params.deviceId as DeviceId;
    if (deviceId === auth.deviceId) {
      throw new ServerError(
        'INVALID_REQUEST',
        'params.deviceId: this is the calling device; revoke it from another of your devices or ask an admin',
      );
    }
    const now = deps.clock();
    // SECURITY: a user revokes another of their devices mostly because it was lost or stolen:
    // no window unless asked for (F5), exactly as for an admin's revocation.
    const handInUntil = await revokeAndDisconnect(deps, {
      orgId: auth.orgId,
      deviceId,
      actorDeviceId: auth.deviceId,
      ownerUserId: auth.userId,
      allowHandIn: query.allowHandIn === 'true',
      now,
    });
    return { deviceId, revokedAt: now, handInUntil };
  },
});

const StrandedRun = Type.Object(
  {
    firstSeq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    lastSeq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  },
  {
    additionalProperties: false,
    description: 'the run of its archive records the device could not upload before retiring',
  },
);

/** POST /v1/devices/retire */
export const retireOwnDeviceRoute = defineRoute({
  method: 'POST',
  url: '/v1/devices/retire',
  summary:
    'The calling device revokes itself (retired by its user): its tokens, sockets and unused link codes end as for ' +
    'any revocation. A device first uploads its archive queue; `stranded` names the run of records it could not ' +
    "(the user chose to retire anyway), kept in the audit entry's detail (`retire stranded <first>-<last>`, else " +
    '`retire`). A retired device gets no archive hand-in window. Audited as `device.revoke`.',
  access: ANY_ROLE,
  body: Type.Object({ stranded: Type.Optional(StrandedRun) }, { additionalProperties: false }),
  response: {
    status: 200,
    schema: Type.Object({ deviceId: Id('device'), revokedAt: Millis }, { additionalProperties: false }),
  },
  errors: ['DEVICE_ALREADY_REVOKED'],
  async handler({ auth, body }, deps) {
    const s = body.stranded;
    if (s !== undefined && s.lastSeq < s.firstSeq)
      throw new ServerError('INVALID_REQUEST', 'body.stranded: lastSeq is before firstSeq');
    const now = deps.clock();
    await revokeAndDisconnect(deps, {
      orgId: auth.orgId,
      deviceId: auth.deviceId,
      actorDeviceId: auth.deviceId,
      ownerUserId: auth.userId,
      retireDetail: s === undefined ? 'retire' : `retire stranded ${s.firstSeq}-${s.lastSeq}`,
      // It uploaded its queue before retiring; what it names as stranded its user gave up.
      allowHandIn: false,
      now,
    });
    return { deviceId: auth.deviceId, revokedAt: now };
  },
});
