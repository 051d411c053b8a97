/**
 * Administration calls a device with the `admin` role makes (docs/api.md: users, roles,
 * retention, enrolment codes, devices, revocation), plus `session()` which any device may
 * call to learn its own role. Every answer is checked field by field; the server stores no
 * names, so users are ids only (names live in each profile's encrypted address book).
 */
import { ClientError } from '../errors.js';
import { RETENTION_CLASSES, type RetentionClass } from '../enrol/org-keys.js';
import { deviceRevocation, type DeviceRevocation } from '../devices/device-revocation.js';
import type { ApiClient } from '../transport/api-client.js';
import { arr, int, obj, str, type Json } from '../transport/response-checks.js';

/** Roles a user can hold. */
export const USER_ROLES = ['member', 'admin', 'officer', 'auditor'] as const;
/** One of {@link USER_ROLES}. */
export type UserRole = (typeof USER_ROLES)[number];
/** Rows per page asked of the list routes (server maximum 500). */
const PAGE_LIMIT = 500;

/** Who the device's token authenticates. */
export interface SessionInfo {
  readonly orgId: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly deviceNumber: number;
  readonly role: UserRole;
}

/** Where a user's retention class comes from: their own assignment, or their role's class. */
export const RETENTION_SOURCES = ['user', 'role'] as const;
/** One of {@link RETENTION_SOURCES}. */
export type RetentionSource = (typeof RETENTION_SOURCES)[number];

/** A user as the server lists it; `retentionClass` is the effective class. */
export interface OrgUser {
  readonly userId: string;
  readonly role: UserRole;
  readonly retentionClass: RetentionClass;
  readonly retentionSource: RetentionSource;
  readonly createdAt: number;
}

/** A role's retention class in the org; `setAt` null while it is the default. */
export interface RoleRetention {
  readonly role: UserRole;
  readonly retentionClass: RetentionClass;
  readonly setAt: number | null;
}

/** A device as the server lists it. */
export interface OrgDevice {
  readonly deviceId: string;
  readonly userId: string;
  readonly deviceNumber: number;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/** A fresh enrolment code. MUST NOT log: the code is a one-time secret. */
export interface IssuedCode {
  readonly enrolmentCode: string;
  readonly expiresAt: number;
}

function oneOf<T extends string>(o: Json, k: string, allowed: readonly T[]): T {
  const v = str(o, k);
  if (!(allowed as readonly string[]).includes(v))
    throw new ClientError('SERVER_RESPONSE_INVALID', `the server's ${k} is not one of ${allowed.join(', ')}`);
  return v as T;
}

function user(v: unknown): OrgUser {
  const o = obj(v, 'user');
  return {
    userId: str(o, 'userId'),
    role: oneOf(o, 'role', USER_ROLES),
    retentionClass: oneOf(o, 'retentionClass', RETENTION_CLASSES),
    retentionSource: oneOf(o, 'retentionSource', RETENTION_SOURCES),
    createdAt: int(o, 'createdAt'),
  };
}

function roleRetention(v: unknown): RoleRetention {
  const o = obj(v, 'role');
  return {
    role: oneOf(o, 'role', USER_ROLES),
    retentionClass: oneOf(o, 'retentionClass', RETENTION_CLASSES),
    setAt: o.setAt === null ? null : int(o, 'setAt'),
  };
}

function device(v: unknown): OrgDevice {
  const o = obj(v, 'device');
  return {
    deviceId: str(o, 'deviceId'),
    userId: str(o, 'userId'),
    deviceNumber: int(o, 'deviceNumber'),
    createdAt: int(o, 'createdAt'),
    revokedAt: o.revokedAt === null ? null : int(o, 'revokedAt'),
  };
}

/** The device's own session (any role). */
export async function sessionInfo(api: ApiClient): Promise<SessionInfo> {
  const o = obj(await api.request('GET', '/v1/session'), 'session');
  return {
    orgId: str(o, 'orgId'),
    userId: str(o, 'userId'),
    deviceId: str(o, 'deviceId'),
    deviceNumber: int(o, 'deviceNumber'),
    role: oneOf(o, 'role', USER_ROLES),
  };
}

/** Admin calls of one organisation, made as an authenticated device (the server checks the role). */
export class OrgAdmin {
  constructor(
    private readonly api: ApiClient,
    readonly orgId: string,
  ) {}

  /** Creates a user with `role` and their own retention class, or following the role's when none is given. */
  async createUser(role: UserRole, retentionClass?: RetentionClass): Promise<OrgUser> {
    const body = retentionClass === undefined ? { role } : { role, retentionClass };
    return user(await this.api.request('POST', `/v1/orgs/${this.orgId}/users`, { body }));
  }

  /** Issues a one-time enrolment code for `userId`. */
  async issueEnrolmentCode(userId: string, ttlSeconds?: number): Promise<IssuedCode> {
    const body = ttlSeconds === undefined ? {} : { ttlSeconds };
    const o = obj(
      await this.api.request('POST', `/v1/orgs/${this.orgId}/users/${userId}/enrolment-codes`, { body }),
      'enrolment code',
    );
    return { enrolmentCode: str(o, 'enrolmentCode'), expiresAt: int(o, 'expiresAt') };
  }

  /** Every user of the organisation, by id. */
  async users(): Promise<OrgUser[]> {
    return this.#pages('users', user);
  }

  /** Gives a user their own retention class, or (`'role'`) makes them follow their role's again. */
  async setUserRetention(userId: string, retention: RetentionClass | 'role'): Promise<OrgUser> {
    const path = `/v1/orgs/${this.orgId}/users/${userId}/retention`;
    return user(
      retention === 'role'
        ? await this.api.request('DELETE', path)
        : await this.api.request('PUT', path, { body: { retentionClass: retention } }),
    );
  }

  /** Every role with the retention class its users follow. */
  async roles(): Promise<RoleRetention[]> {
    return arr(obj(await this.api.request('GET', `/v1/orgs/${this.orgId}/roles`), 'roles'), 'roles').map(
      roleRetention,
    );
  }

  /** Sets a role's retention class; resolves to it and how many users follow it. */
  async setRoleRetention(
    role: UserRole,
    retentionClass: RetentionClass,
  ): Promise<RoleRetention & { readonly usersFollowing: number }> {
    const o = obj(
      await this.api.request('PUT', `/v1/orgs/${this.orgId}/roles/${role}/retention`, {
        body: { retentionClass },
      }),
      'role',
    );
    return { ...roleRetention(o), usersFollowing: int(o, 'usersFollowing') };
  }

  /** Every device of the organisation, or of one user, by id (revoked ones included). */
  async devices(userId?: string): Promise<OrgDevice[]> {
    return this.#pages('devices', device, userId === undefined ? '' : `&userId=${userId}`);
  }

  /**
   * Revokes a device; resolves to when, and to the hand-in window the server granted (not the
   * one asked for: with `archiveHandInDays` 0 it grants none). With `allowHandIn` it may still
   * hand in the archive records it sealed before, for the server's hand-in window; by default
   * it is locked out at once (docs/threat-model.md, "Revoked devices and their archive queue").
   */
  async revokeDevice(
    deviceId: string,
    o: { readonly allowHandIn?: boolean } = {},
  ): Promise<DeviceRevocation> {
    const r = obj(
      await this.api.request(
        'POST',
        `/v1/orgs/${this.orgId}/devices/${deviceId}/revoke${o.allowHandIn === true ? '?allowHandIn=true' : ''}`,
      ),
      'revocation',
    );
    return deviceRevocation(r);
  }

  async #pages<T>(what: 'users' | 'devices', parse: (v: unknown) => T, extra = ''): Promise<T[]> {
    const out: T[] = [];
    let after: string | null = null;
    do {
      const q: string = `?limit=${PAGE_LIMIT}${after === null ? '' : `&after=${after}`}${extra}`;
      const page = obj(await this.api.request('GET', `/v1/orgs/${this.orgId}/${what}${q}`), what);
      out.push(...arr(page, what).map(parse));
      after = page.next === null || page.next === undefined ? null : str(page, 'next');
    } while (after !== null);
    return out;
  }
}
