/**
 * Prekeys: bundles for starting sessions (with one-time key consumption and a per-device
 * fetch limit against harvesting), the caller's own key status, and replenishment.
 * Bundles may be fetched for users of any organisation on this server, so the path names
 * the peer's organisation as `peerOrgId` (not `orgId`, which device routes pin to the caller's).
 *
 * A bundle answer also names the peer's organisation and its archive policy (F17), so a
 * sender writing first is told before its first message that the conversation is archived.
 * The sender cannot pin another org's key, so this is the server's word only (docs/client.md
 * §4a): clients show it as such until a device of that org sends its own notice.
 */
import { Type, type Static } from 'typebox';
import { PREKEY_UPLOAD_BODY_LIMIT_BYTES } from '../../config/messaging-defaults.js';
import { ServerError } from '../../errors.js';
import type { DeviceId, OrgId, UserId } from '../../ids.js';
import { DeviceBundleSchema, PrekeyStatusSchema, PrekeyUploadSchema } from '../../prekeys/prekey-schemas.js';
import type { Stores } from '../../store/stores.js';
import { checkUpload, claimBundle, prekeyStatus, storeUpload } from '../../prekeys/prekey-service.js';
import { messagingOf } from '../../relay/messaging-services.js';
import { ANY_ROLE, defineRoute, type AppDeps, type AuthContext } from '../route-def.js';
import { Id } from '../schema-helpers.js';

/** The peer's organisation as a bundle answer names it. */
const PeerOrgSchema = Type.Object(
  {
    name: Type.String({ description: "the organisation's name" }),
    archivePolicy: Type.Union([Type.Literal('required'), Type.Literal('none')], {
      description:
        "whether the organisation archives (F17), as this server knows it; the sender cannot check it against the org's key, so clients treat it as the server's word",
    }),
  },
  { additionalProperties: false },
);

const BundleResponse = Type.Object(
  { devices: Type.Array(DeviceBundleSchema), org: Type.Optional(PeerOrgSchema) },
  { additionalProperties: false },
);

/** The peer org's name and archive policy for a bundle answer ({} if the org is unknown). */
async function peerOrg(stores: Stores, orgId: OrgId): Promise<{ org?: Static<typeof PeerOrgSchema> }> {
  const org = await stores.orgs.get(orgId);
  // No signed statement means `required` (docs/client.md §4a), as for the org's own devices.
  return org === undefined
    ? {}
    : { org: { name: org.name, archivePolicy: org.archivePolicy?.policy ?? 'required' } };
}

/** Most devices of one user listed in a bundle. */
const MAX_BUNDLE_DEVICES = 1000;

function limitFetch(deps: AppDeps, auth: AuthContext): void {
  const decision = messagingOf(deps).prekeyFetches.take(`${auth.orgId}/${auth.deviceId}`);
  if (!decision.allowed) {
    throw new ServerError(
      'RATE_LIMITED',
      `too many prekey bundle fetches from this device; retry after ${decision.retryAfterSeconds} s`,
    );
  }
}

/** GET /v1/prekey-bundles/:peerOrgId/:userId */
export const userBundleRoute = defineRoute({
  method: 'GET',
  url: '/v1/prekey-bundles/:peerOrgId/:userId',
  summary:
    "A prekey bundle for every current device of a user (in any organisation on this server). Each bundle spends one of the device's one-time prekeys; fetches are rate-limited per requesting device.",
  access: ANY_ROLE,
  params: Type.Object(
    { peerOrgId: Id("the user's organisation"), userId: Id('the user') },
    { additionalProperties: false },
  ),
  response: { status: 200, schema: BundleResponse },
  errors: ['USER_NOT_FOUND'],
  async handler({ params, auth }, deps) {
    limitFetch(deps, auth);
    const orgId = params.peerOrgId as OrgId;
    const user = await deps.stores.users.get(orgId, params.userId as UserId);
    if (user === undefined) throw new ServerError('USER_NOT_FOUND', 'no such user in the named organisation');
    const devices = await deps.stores.devices.list(
      orgId,
      { after: null, limit: MAX_BUNDLE_DEVICES },
      user.userId,
    );
    const m = messagingOf(deps);
    const out = [];
    for (const d of devices) {
      if (d.revokedAt !== null) continue;
      const b = await claimBundle(deps.stores, m, d);
      if (b !== null) out.push(b);
    }
    return { devices: out, ...(await peerOrg(deps.stores, orgId)) };
  },
});

/** GET /v1/prekey-bundles/:peerOrgId/:userId/:deviceId */
export const deviceBundleRoute = defineRoute({
  method: 'GET',
  url: '/v1/prekey-bundles/:peerOrgId/:userId/:deviceId',
  summary: 'A prekey bundle for one current device of a user; spends one of its one-time prekeys.',
  access: ANY_ROLE,
  params: Type.Object(
    { peerOrgId: Id("the user's organisation"), userId: Id('the user'), deviceId: Id('the device') },
    { additionalProperties: false },
  ),
  response: { status: 200, schema: BundleResponse },
  errors: ['DEVICE_NOT_FOUND'],
  async handler({ params, auth }, deps) {
    limitFetch(deps, auth);
    const d = await deps.stores.devices.get(params.peerOrgId as OrgId, params.deviceId as DeviceId);
    if (d === undefined || d.userId !== params.userId || d.revokedAt !== null)
      throw new ServerError('DEVICE_NOT_FOUND', 'no such current device of that user');
    const b = await claimBundle(deps.stores, messagingOf(deps), d);
    if (b === null) throw new ServerError('DEVICE_NOT_FOUND', 'the device has no prekeys');
    return { devices: [b], ...(await peerOrg(deps.stores, params.peerOrgId as OrgId)) };
  },
});

/** GET /v1/prekeys */
export const prekeyStatusRoute = defineRoute({
  method: 'GET',
  url: '/v1/prekeys',
  summary:
    'How many one-time prekeys the calling device has left, and whether it is below the upload threshold.',
  access: ANY_ROLE,
  response: { status: 200, schema: PrekeyStatusSchema },
  errors: [],
  async handler({ auth }, deps) {
    const counts = await deps.stores.prekeys.counts(auth.orgId, auth.deviceId);
    return prekeyStatus(counts, messagingOf(deps).settings.prekeyLowThreshold);
  },
});

/** PUT /v1/prekeys */
export const uploadPrekeysRoute = defineRoute({
  method: 'PUT',
  url: '/v1/prekeys',
  summary:
    "Replenishes the calling device's prekeys: one-time EC and Kyber prekeys are added (ids already present are " +
    'ignored), a signed prekey or last-resort Kyber prekey replaces the current one. Every signature is checked ' +
    "against the device's identity key first; answers the new status.",
  access: ANY_ROLE,
  bodyLimit: PREKEY_UPLOAD_BODY_LIMIT_BYTES,
  body: PrekeyUploadSchema,
  response: { status: 200, schema: PrekeyStatusSchema },
  errors: ['INVALID_KEY'],
  async handler({ body, auth }, deps) {
    const checked = checkUpload(auth.device, body);
    const counts = await storeUpload(deps.stores, auth.orgId, auth.deviceId, checked);
    return prekeyStatus(counts, messagingOf(deps).settings.prekeyLowThreshold);
  },
});
