/**
 * Test support for route tests: an app over a fresh store with a settable clock, and a
 * scripted device (libsignal keys, enrolment, challenge login) to drive it.
 */
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { encodeDeterministicCbor, sealOfficerDeviceBinding } from '@custos/core';
import { KEMKeyPair, PrivateKey } from '@signalapp/libsignal-client';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pendingTableAuditSink } from '../audit/audit-sink.js';
import { authChallengeMessage } from '../auth/challenge-message.js';
import { keyFingerprint, newBootstrapToken, newEnrolmentCode, sha256 } from '../crypto/secrets.js';
import { newId, type DeviceId, type OrgId, type UserId } from '../ids.js';
import { buildApp } from '../http/app.js';
import type { AppDeps } from '../http/route-def.js';
import { ALL_ROUTES } from '../http/routes/index.js';
import { silentLogger } from '../log/logger.js';
import type { Role } from '../store/records.js';
import type { StoreBackend, Stores } from '../store/stores.js';

/** The origin test apps expect in signed challenges. */
export const TEST_ORIGIN = 'https://custos.test';

/** An app under test. */
export interface TestApp {
  readonly app: FastifyInstance;
  readonly stores: StoreBackend;
  readonly bootstrapToken: string;
  /** The app's clock; set `now` to move time. */
  readonly clock: { now: number };
}

/** Builds the full app over `stores`, with a fresh bootstrap token and generous rate limits unless given. */
export async function createTestApp(
  stores: StoreBackend,
  overrides: Partial<AppDeps> = {},
): Promise<TestApp> {
  const clock = { now: 1_700_000_000_000 };
  const bootstrapToken = newBootstrapToken();
  await stores.bootstrap.replace(sha256(bootstrapToken), clock.now);
  const app = await buildApp(
    testAppDeps(stores, () => clock.now, overrides),
    ALL_ROUTES,
  );
  await app.ready();
  return { app, stores, bootstrapToken, clock };
}

/** A test app's dependencies: silent logs, the test origin, limits no test reaches unless it sets them. */
export function testAppDeps(
  stores: StoreBackend,
  clock: () => number,
  overrides: Partial<AppDeps> = {},
): AppDeps {
  return {
    stores,
    audit: pendingTableAuditSink,
    clock,
    logger: silentLogger,
    origin: () => TEST_ORIGIN,
    rateLimits: {
      address: { burst: 1_000_000, perSecond: 1_000_000, maxKeys: 1000 },
      device: { burst: 1_000_000, perSecond: 1_000_000, maxKeys: 1000 },
    },
    ...overrides,
  };
}

/** An app serving only `routes` (test-only routes, under the app's real policies). */
export function appWithRoutes(
  stores: StoreBackend,
  routes: Parameters<typeof buildApp>[1],
  clock: () => number = Date.now,
): ReturnType<typeof buildApp> {
  return buildApp(testAppDeps(stores, clock), routes);
}

/** An officer of a test org: their public key document and the private half of its signing key. */
export interface TestOfficer {
  /** The officer public key document `{ v, typ: "officer-key", hpke, sig }` (the hpke key is random). */
  readonly publicKey: Buffer;
  readonly signingKey: KeyObject;
}

/** `n` officers with real Ed25519 signing keys (bindings and approvals verify with them). */
export function testOfficers(n = 3): TestOfficer[] {
  return Array.from({ length: n }, () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const sig = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
    const doc = encodeDeterministicCbor({ v: 1, typ: 'officer-key', hpke: randomBytes(32), sig });
    return { publicKey: Buffer.from(doc), signingKey: privateKey };
  });
}

/** A JSON body for POST /v1/orgs; `officers` default to fresh ones whose keys are dropped. */
export function orgCreateBody(
  bootstrapToken: string,
  officers: readonly TestOfficer[] = testOfficers(),
): Record<string, unknown> {
  const b64 = (n: number) => randomBytes(n).toString('base64url');
  return {
    bootstrapToken,
    name: 'Example Agency',
    signingPublicKey: b64(32),
    rootArchivePublicKey: b64(32),
    keyManager: { delegation: b64(120), notBefore: 1_600_000_000_000, notAfter: 1_900_000_000_000 },
    officers: officers.map((o) => ({ publicKey: o.publicKey.toString('base64url') })),
    officerQuorum: 2,
  };
}

/**
 * Binds `device` (of a user with the role officer) to officer `index`, signed with `officer`'s
 * key at `now` (PUT /v1/orgs/:orgId/officer-binding); throws unless the server accepts.
 */
export async function bindOfficer(
  app: FastifyInstance,
  device: TestDevice,
  officer: TestOfficer,
  index: number,
  now: number,
): Promise<void> {
  const r = await call(
    app,
    'PUT',
    `/v1/orgs/${device.orgId}/officer-binding`,
    { statement: officerBindingStatement(device, officer, index, now).toString('base64url') },
    device.headers(),
  );
  if (r.statusCode !== 200) throw new Error(`officer binding failed: ${r.body}`);
}

/** The binding statement `officer` (index `index`) signs for `device` at `now`. */
export function officerBindingStatement(
  device: TestDevice,
  officer: TestOfficer,
  index: number,
  now: number,
): Buffer {
  const identityKeyHash = createHash('sha256').update(device.identity.getPublicKey().serialize()).digest();
  return Buffer.from(
    sealOfficerDeviceBinding(
      { org: device.orgId, deviceId: device.deviceId, identityKeyHash, officerIndex: index, issuedAt: now },
      officer.signingKey,
    ),
  );
}

/** Key material of a scripted device. */
export interface DeviceKeys {
  readonly identity: PrivateKey;
  readonly body: Record<string, unknown>;
}

/** Fresh libsignal keys and the registration body for them (without the enrolment code). */
export function deviceKeys(oneTime = 3, kyber = 2): DeviceKeys {
  const identity = PrivateKey.generate();
  const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64url');
  const signed = PrivateKey.generate().getPublicKey().serialize();
  const kyberKey = (keyId: number) => {
    const pub = KEMKeyPair.generate().getPublicKey().serialize();
    return { keyId, publicKey: b64(pub), signature: b64(identity.sign(pub)) };
  };
  return {
    identity,
    body: {
      identityKey: b64(identity.getPublicKey().serialize()),
      registrationId: 1234,
      signedPreKey: { keyId: 1, publicKey: b64(signed), signature: b64(identity.sign(signed)) },
      lastResortKyberPreKey: kyberKey(1000),
      kyberPreKeys: Array.from({ length: kyber }, (_, i) => kyberKey(i + 1)),
      oneTimePreKeys: Array.from({ length: oneTime }, (_, i) => ({
        keyId: i + 1,
        publicKey: b64(PrivateKey.generate().getPublicKey().serialize()),
      })),
    },
  };
}

/** A registered, logged-in device. */
export interface TestDevice {
  readonly orgId: OrgId;
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly identity: PrivateKey;
  token: string;
  /** Headers for authenticated requests. */
  headers(): Record<string, string>;
}

/** POST/GET helper returning the parsed response. */
export async function call(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse & { json<T = Record<string, unknown>>(): T }> {
  return app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as object }) });
}

/** The response of {@link call}. */
export type CallResponse = Awaited<ReturnType<typeof call>>;

/**
 * The two login steps, answers as they come: a challenge for `deviceId`, then the token step
 * answered with `signer`'s signature over it (the device's own key, or another to play a
 * stranger who names the device).
 */
export async function loginSteps(
  app: FastifyInstance,
  orgId: OrgId,
  deviceId: DeviceId,
  signer: PrivateKey,
): Promise<{ challenge: CallResponse; token: CallResponse }> {
  const challenge = await call(app, 'POST', '/v1/auth/challenge', { orgId, deviceId });
  const c = challenge.json<{ challengeId?: string; challenge?: string }>();
  if (challenge.statusCode !== 201 || c.challengeId === undefined || c.challenge === undefined)
    throw new Error(`challenge failed: ${challenge.body}`);
  const msg = authChallengeMessage({ origin: TEST_ORIGIN, orgId, deviceId, challenge: c.challenge });
  const signature = Buffer.from(signer.sign(new Uint8Array(msg))).toString('base64url');
  const token = await call(app, 'POST', '/v1/auth/token', {
    orgId,
    deviceId,
    challengeId: c.challengeId,
    signature,
  });
  return { challenge, token };
}

/** Signs a fresh challenge and returns a bearer token. */
export async function login(
  app: FastifyInstance,
  orgId: OrgId,
  deviceId: DeviceId,
  identity: PrivateKey,
): Promise<string> {
  const { token } = await loginSteps(app, orgId, deviceId, identity);
  if (token.statusCode !== 201) throw new Error(`token failed: ${token.body}`);
  return token.json<{ token: string }>().token;
}

/** Enrols a device with `code` and logs it in. */
export async function enrolAndLogin(app: FastifyInstance, orgId: OrgId, code: string): Promise<TestDevice> {
  const keys = deviceKeys(1, 1);
  const r = await call(app, 'POST', `/v1/orgs/${orgId}/devices`, { ...keys.body, enrolmentCode: code });
  if (r.statusCode !== 201) throw new Error(`enrolment failed: ${r.body}`);
  const { userId, deviceId } = r.json<{ userId: UserId; deviceId: DeviceId }>();
  const device: TestDevice = {
    orgId,
    userId,
    deviceId,
    identity: keys.identity,
    token: await login(app, orgId, deviceId, keys.identity),
    headers() {
      return { authorization: `Bearer ${this.token}`, 'custos-device': this.deviceId };
    },
  };
  return device;
}

/** The enrolment code `admin` issues for user `userId` of its org; throws unless the server issues one. */
export async function enrolmentCodeFor(
  app: FastifyInstance,
  admin: TestDevice,
  userId: string,
): Promise<string> {
  const c = await call(
    app,
    'POST',
    `/v1/orgs/${admin.orgId}/users/${userId}/enrolment-codes`,
    {},
    admin.headers(),
  );
  if (c.statusCode !== 201) throw new Error(`enrolment code failed: ${c.body}`);
  return c.json<{ enrolmentCode: string }>().enrolmentCode;
}

/** A new user with `role` in `admin`'s org and a logged-in device of theirs (an officer's bound to no officer). */
export async function enrolNewUser(app: FastifyInstance, admin: TestDevice, role: Role): Promise<TestDevice> {
  const u = await call(app, 'POST', `/v1/orgs/${admin.orgId}/users`, { role }, admin.headers());
  if (u.statusCode !== 201) throw new Error(`user create failed: ${u.body}`);
  const code = await enrolmentCodeFor(app, admin, u.json<{ userId: string }>().userId);
  return enrolAndLogin(app, admin.orgId, code);
}

/** An organisation with one logged-in device per role (the officer's bound to officer index 0). */
export interface TestOrg {
  readonly orgId: OrgId;
  readonly devices: Record<Role, TestDevice>;
  /** The org's officers, by index. */
  readonly officers?: readonly TestOfficer[];
}

/**
 * Creates an org with a logged-in device for each role: through POST /v1/orgs with the app's
 * bootstrap token, or (viaBootstrap false) seeded in the store, with no audit or log entries.
 */
export async function createOrgWithRoles(t: TestApp, viaBootstrap = true): Promise<TestOrg> {
  const { app } = t;
  let orgId: OrgId;
  let enrolmentCode: string;
  const officers = testOfficers(viaBootstrap ? 3 : 1);
  if (viaBootstrap) {
    const r = await call(app, 'POST', '/v1/orgs', orgCreateBody(t.bootstrapToken, officers));
    if (r.statusCode !== 201) throw new Error(`org create failed: ${r.body}`);
    ({ orgId, enrolmentCode } = r.json<{ orgId: OrgId; enrolmentCode: string }>());
  } else {
    orgId = newId<OrgId>();
    const signingPublicKey = randomBytes(32);
    const fingerprint = keyFingerprint(signingPublicKey);
    await t.stores.orgs.create({
      orgId,
      name: 'Other Agency',
      signingPublicKey,
      signingKeyFingerprint: fingerprint,
      rootArchivePublicKey: randomBytes(32),
      keyManager: { delegation: randomBytes(64), notBefore: 0, notAfter: 1 },
      officerQuorum: 1,
      officers: [{ index: 0, publicKey: officers[0]!.publicKey }],
      createdAt: t.clock.now,
    });
    const adminId = newId<UserId>();
    await t.stores.users.create(orgId, {
      userId: adminId,
      role: 'admin',
      retentionClass: 'standard',
      createdAt: t.clock.now,
    });
    enrolmentCode = newEnrolmentCode(orgId, fingerprint);
    await t.stores.enrolmentCodes.create(orgId, {
      codeHash: sha256(enrolmentCode),
      userId: adminId,
      createdBy: null,
      createdAt: t.clock.now,
      expiresAt: t.clock.now + 3_600_000,
    });
  }
  const admin = await enrolAndLogin(app, orgId, enrolmentCode);
  const devices: Partial<Record<Role, TestDevice>> = { admin };
  for (const role of ['member', 'officer', 'auditor'] as const)
    devices[role] = await enrolNewUser(app, admin, role);
  await bindOfficer(app, devices.officer!, officers[0]!, 0, t.clock.now);
  return { orgId, devices: devices as Record<Role, TestDevice>, officers };
}

/**
 * Registers an empty transitory bucket of `orgId` that expired long ago (January 2020), so a
 * disposition has something to plan (with nothing expired a plan is NOTHING_TO_DISPOSE).
 */
export async function registerExpiredBucket(
  stores: Stores,
  orgId: OrgId,
  registeredBy: DeviceId,
  bucketId = 'transitory-2020-01',
): Promise<void> {
  await stores.buckets.create(orgId, {
    bucketId,
    retentionClass: 'transitory',
    period: '2020-01',
    notBefore: Date.UTC(2020, 0, 1),
    notAfter: Date.UTC(2020, 1, 1) - 1,
    publicKey: Buffer.alloc(32, 4),
    document: Buffer.alloc(16, 5),
    registeredBy,
    registeredAt: 0,
    logIndex: 0,
  });
}
