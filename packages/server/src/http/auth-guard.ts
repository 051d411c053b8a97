/**
 * Device authentication for every device route, on every request: the bearer token must
 * be known, unexpired and bound to the device named in `Custos-Device`, and the device
 * must not be revoked — so revocation takes effect on the very next request (F5). The one
 * exception: routes marked `handIn` take a revoked device during its archive hand-in window
 * (auth/archive-hand-in.ts), so it can still upload what it sealed before.
 */
import type { FastifyRequest } from 'fastify';
import { sha256, parseBearerToken } from '../crypto/secrets.js';
import { mayHandIn, revokedError } from '../auth/archive-hand-in.js';
import { ServerError } from '../errors.js';
import { isIdShaped, type OrgId } from '../ids.js';
import type { AppDeps, AuthContext, RouteAccess } from './route-def.js';

/** Whether a revoked device may call the route (its hand-in window still open): `handIn` routes only. */
type RevokedAccess = 'refuse' | 'hand-in';

/** Header naming the device that presents the token. */
export const DEVICE_HEADER = 'custos-device';

const BEARER = /^Bearer ([A-Za-z0-9._-]{1,256})$/;

/** An authenticated device, and when the token it presented expires. */
export interface DeviceSession {
  readonly auth: AuthContext;
  readonly tokenExpiresAt: number;
}

/**
 * Resolves the caller of a device route or throws the ServerError that says why not; a
 * revoked device only for a `handIn` route (`access`) within its hand-in window.
 */
export async function authenticateDevice(
  request: FastifyRequest,
  deps: AppDeps,
  access?: RouteAccess,
): Promise<AuthContext> {
  const header = request.headers.authorization;
  if (header === undefined) throw new ServerError('AUTH_REQUIRED', 'missing Authorization: Bearer token');
  const token = BEARER.exec(header)?.[1];
  if (token === undefined)
    throw new ServerError('TOKEN_INVALID', 'the Authorization header is not "Bearer <token>"');
  const orgId = tokenOrg(token);
  const claimed = request.headers[DEVICE_HEADER];
  if (typeof claimed !== 'string') throw new ServerError('AUTH_REQUIRED', 'missing Custos-Device header');
  if (!isIdShaped(claimed))
    throw new ServerError('AUTH_REQUIRED', 'the Custos-Device header is not a device id');
  const revoked: RevokedAccess = access?.kind === 'device' && access.handIn === true ? 'hand-in' : 'refuse';
  return (await resolveSession(orgId, token, claimed, deps, revoked)).auth;
}

/**
 * The same checks for a token presented outside HTTP headers (a WebSocket's auth frame,
 * whose schema has checked that `claimedDeviceId` is id-shaped).
 */
export async function authenticateToken(
  token: string,
  claimedDeviceId: string,
  deps: AppDeps,
): Promise<DeviceSession> {
  return resolveSession(tokenOrg(token), token, claimedDeviceId, deps, 'refuse');
}

/** The org a well-formed bearer token names; TOKEN_INVALID otherwise (never echoing the token). */
function tokenOrg(token: string): OrgId {
  const parsed = parseBearerToken(token);
  if (parsed === null) throw new ServerError('TOKEN_INVALID', 'the bearer token is malformed');
  return parsed.orgId;
}

async function resolveSession(
  orgId: OrgId,
  token: string,
  claimed: string,
  deps: AppDeps,
  revoked: RevokedAccess,
): Promise<DeviceSession> {
  // Token, device and user in one read, every request (no cache): revocation and role
  // changes apply to the very next request.
  const session = await deps.stores.authTokens.findSession(orgId, sha256(token));
  if (session === undefined) throw new ServerError('TOKEN_INVALID', 'the bearer token is unknown');
  const { token: record, device, user } = session;
  const now = deps.clock();
  if (record.expiresAt <= now) throw new ServerError('TOKEN_EXPIRED', 'the bearer token has expired');
  if (record.deviceId !== claimed) {
    throw new ServerError('TOKEN_DEVICE_MISMATCH', 'the bearer token was issued to a different device');
  }
  if (device === undefined) throw new ServerError('TOKEN_INVALID', 'the bearer token is unknown');
  if (device.revokedAt !== null) {
    // SECURITY: only ingest routes, only inside the window fixed at its revocation (null: none);
    // everything else as before (F5).
    if (revoked !== 'hand-in' || !mayHandIn(device.handInUntil, now))
      throw revokedError(device.revokedAt, device.handInUntil, now);
  }
  if (user === undefined) throw new ServerError('TOKEN_INVALID', 'the bearer token is unknown');
  return {
    auth: {
      orgId,
      deviceId: device.deviceId,
      userId: user.userId,
      role: user.role,
      retentionClass: user.retentionClass,
      device,
    },
    tokenExpiresAt: record.expiresAt,
  };
}

/** Checks the path's organisation and the caller's role against the route's access rule. */
export function authorise(auth: AuthContext, access: RouteAccess, params: unknown): void {
  const pathOrg = (params as { orgId?: unknown } | undefined)?.orgId;
  if (typeof pathOrg === 'string' && pathOrg !== auth.orgId) {
    throw new ServerError('WRONG_ORG', "the path names another organisation than the caller's");
  }
  if (access.kind === 'device' && !access.roles.includes(auth.role)) {
    throw new ServerError(
      'ROLE_FORBIDDEN',
      `role '${auth.role}' may not do this; needs ${access.roles.join(' or ')}`,
    );
  }
}

/**
 * Separation of duties (NIST AC-5; docs/officers.md §2): the role officer is an admin's grant,
 * the officer keys are not. A device whose user has the role officer acts as an officer only
 * while it is bound, by a statement its officer signed, to an officer of the org's current list
 * with the same key (a removed officer's devices are unbound from the commit that removed
 * them). Routes with `unboundOfficers` take it unbound. Run after {@link authorise}; resolves
 * to the context with the officer index, or throws OFFICER_NOT_BOUND saying what is missing.
 */
export async function requireOfficerBinding(
  auth: AuthContext,
  access: RouteAccess,
  deps: AppDeps,
): Promise<AuthContext> {
  if (auth.role !== 'officer' || access.kind !== 'device' || access.unboundOfficers === true) return auth;
  const binding = await deps.stores.devices.officerBinding(auth.orgId, auth.deviceId);
  if (binding === undefined) {
    throw new ServerError(
      'OFFICER_NOT_BOUND',
      "this device is not bound to an officer key in the org's officer list: an officer binds their console's device " +
        "with their officer key ('custos console enroll', then any officer command with the officer's passphrase)",
    );
  }
  if (!binding.listed) {
    throw new ServerError(
      'OFFICER_NOT_BOUND',
      `this device is bound to officer index ${binding.officerIndex}, who is not in the org's current officer list`,
    );
  }
  return { ...auth, officerIndex: binding.officerIndex };
}
