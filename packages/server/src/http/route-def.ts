/**
 * How a route is declared: method, path, schemas, body limit, who may call it, the errors
 * it can answer with, and its handler. The app registers these; docs/api.md is rendered
 * from the same objects, so the documentation cannot drift from the validation.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Static, TSchema } from 'typebox';
import type { AuditSink } from '../audit/audit-sink.js';
import type { ServerErrorCode } from '../errors.js';
import type { DeviceId, OrgId, UserId } from '../ids.js';
import type { Logger } from '../log/logger.js';
import type { MessagingServices } from '../relay/messaging-services.js';
import type { DeviceRecord, RetentionClass, Role } from '../store/records.js';
import type { Stores } from '../store/stores.js';
import type { RateLimitSettings } from './rate-limit.js';

/** What every handler may use. */
export interface AppDeps {
  readonly stores: Stores;
  readonly audit: AuditSink;
  /** Milliseconds since the epoch; injectable so expiry is testable without waiting. */
  readonly clock: () => number;
  readonly logger: Logger;
  /** The origin devices must sign into auth responses (known once the server listens). */
  readonly origin: () => string;
  readonly rateLimits: { readonly address: RateLimitSettings; readonly device: RateLimitSettings };
  /** How long (ms) a revoked device may still hand in archive records (auth/archive-hand-in.ts); 14 days when absent, 0 for never. */
  readonly archiveHandInMs?: number;
  /** Operator settings of disposition execution (`dispositionStep`, `dispositionRequestMs`); defaults when absent. */
  readonly disposition?: { readonly recordsPerStep: number; readonly requestMs: number };
  /** Relay, prekey and blob services; built with defaults on first use when absent (see messagingOf). */
  readonly messaging?: MessagingServices;
}

/** The authenticated caller of a device route. */
export interface AuthContext {
  readonly orgId: OrgId;
  readonly deviceId: DeviceId;
  readonly userId: UserId;
  readonly role: Role;
  /** The user's retention class: which buckets the device seals its archive records to. */
  readonly retentionClass: RetentionClass;
  readonly device: DeviceRecord;
  /**
   * The officer index the device is bound to (docs/officers.md §2), set on routes that need a
   * bound officer (requireOfficerBinding in auth-guard.ts); absent everywhere else.
   */
  readonly officerIndex?: number;
}

/**
 * Who may call a route: anyone (the handler checks a bootstrap token, enrolment code or
 * signature) or devices with these roles; `handIn` routes also take a revoked device during
 * its archive hand-in window (auth/archive-hand-in.ts). A device of the role officer counts as
 * one only when it is bound to a listed officer key (auth-guard.ts, requireOfficerBinding),
 * unless the route says `unboundOfficers: true` (routes open to every role, and the binding
 * route itself).
 */
export type RouteAccess =
  | { readonly kind: 'public' }
  | {
      readonly kind: 'device';
      readonly roles: readonly Role[];
      readonly handIn?: true;
      readonly unboundOfficers?: true;
    };

type In<T> = T extends TSchema ? Static<T> : undefined;

/** What a handler receives. */
export interface RouteInput<B, P, Q, A> {
  readonly body: In<B>;
  readonly params: In<P>;
  readonly query: In<Q>;
  readonly auth: A;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
}

/** A route declaration. */
export interface RouteSpec<
  B extends TSchema | undefined = TSchema | undefined,
  P extends TSchema | undefined = TSchema | undefined,
  Q extends TSchema | undefined = TSchema | undefined,
  R extends TSchema = TSchema,
  X extends RouteAccess = RouteAccess,
> {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly summary: string;
  readonly access: X;
  readonly bodyLimit?: number;
  readonly body?: B;
  /** A second body media type, parsed as raw bytes and not schema-checked: the handler decodes it (body is a Buffer). */
  readonly binaryBodyType?: string;
  readonly params?: P;
  readonly query?: Q;
  readonly response: { readonly status: number; readonly schema: R };
  /** Codes this route answers with beyond the common ones (documented in docs/api.md). */
  readonly errors: readonly ServerErrorCode[];
  readonly handler: (
    input: RouteInput<B, P, Q, X extends { kind: 'device' } ? AuthContext : null>,
    deps: AppDeps,
  ) => Promise<Static<R>>;
}

/** A route with its types erased, for lists. */
export type AnyRoute = RouteSpec<
  TSchema | undefined,
  TSchema | undefined,
  TSchema | undefined,
  TSchema,
  RouteAccess
>;

/** Declares a route, keeping its handler's types; returns it type-erased for the route list. */
export function defineRoute<
  B extends TSchema | undefined,
  P extends TSchema | undefined,
  Q extends TSchema | undefined,
  R extends TSchema,
  X extends RouteAccess,
>(spec: RouteSpec<B, P, Q, R, X>): AnyRoute {
  return spec;
}

/** Access for device routes open to every role of the org. */
export const ANY_ROLE = {
  kind: 'device',
  roles: ['member', 'admin', 'officer', 'auditor'],
  // An officer user acts here as any user of the org does, bound or not.
  unboundOfficers: true,
} as const satisfies RouteAccess;
/**
 * Access for the archive routes a revoked device may still use to hand in what it sealed
 * before its revocation, within the hand-in window (auth/archive-hand-in.ts): any role.
 */
export const ANY_ROLE_AND_HAND_IN = { ...ANY_ROLE, handIn: true } as const satisfies RouteAccess;
/** Access for admin-only routes. */
export const ADMIN_ONLY = { kind: 'device', roles: ['admin'] } as const satisfies RouteAccess;
/** Access for routes anyone may call. */
export const PUBLIC = { kind: 'public' } as const satisfies RouteAccess;
