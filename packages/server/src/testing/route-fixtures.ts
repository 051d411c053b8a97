/**
 * A valid request for every route, used by the authorisation matrix and the bad-input
 * tests. A route without a fixture fails those tests: add one here with the route.
 */
import {
  dispositionApprovalMessage,
  encodeFindingAcknowledgement,
  encodeHoldRelease,
  holdReleaseMessage,
  holdReleaseReasonHash,
  sealRootKeyStatement,
  sealOfficerList,
} from '@custos/core';
import { randomBytes, sign } from 'node:crypto';
import { newId, type ChallengeId, type DeviceId, type OrgId, type UserId } from '../ids.js';
import { PrivateKey } from '@signalapp/libsignal-client';
import {
  ArchiveWriter,
  bucketDocument,
  declareGap,
  createArchivingOrg,
  uploadBody,
  type ArchivingOrg,
} from '../archive/archive-test-support.js';
import { rootRotationNeeds } from '../keys/root-key-rotation.js';
import { blobIdOf } from '../blobs/blob-service.js';
import { FIXTURE_LOG_KEY, testIntegrator } from '../search/search-test-support.js';
import type { HoldId } from '../store/hold-stores.js';
import { newEnrolmentCode, sha256 } from '../crypto/secrets.js';
import {
  bindOfficer,
  call,
  deviceKeys,
  enrolAndLogin,
  enrolmentCodeFor,
  enrolNewUser,
  officerBindingStatement,
  orgCreateBody,
  registerExpiredBucket,
  type TestApp,
  type TestDevice,
  type TestOrg,
} from './test-app.js';

/** A request to inject. */
export interface RouteRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  /** A JSON body. */
  readonly body?: Record<string, unknown>;
  /** A raw body (blob uploads) with its content type. */
  readonly raw?: { readonly payload: Buffer; readonly contentType: string };
  /**
   * Headers that replace the caller's: a route that revokes its caller (a device retiring)
   * is called as a fresh device of the caller's user, so the caller stays usable.
   */
  readonly headers?: Record<string, string>;
}

/** Injects a fixture's request with the given headers. */
export function injectFixture(app: TestApp['app'], req: RouteRequest, callerHeaders: Record<string, string>) {
  const headers = req.headers ?? callerHeaders;
  if (req.raw !== undefined) {
    return app.inject({
      method: req.method,
      url: req.url,
      headers: { ...headers, 'content-type': req.raw.contentType },
      payload: req.raw.payload,
    });
  }
  return call(app, req.method, req.url, req.body, headers);
}

/** What a fixture may use: the app, the org whose ids go in the path, and helpers for fresh targets. */
export interface FixtureContext {
  readonly t: TestApp;
  readonly org: TestOrg;
  /** A user of `org` that fixtures may change (role, retention, codes); it never gets a device. */
  readonly spareUserId: UserId;
  /** `org`'s key-manager key and registered bucket (see {@link createFixtureOrg}). */
  readonly archive: ArchivingOrg;
  /** One archive writer per device, so each caller's chain continues. */
  readonly writers: Map<string, ArchiveWriter>;
}

/**
 * Creates org A for the fixtures through the bootstrap token: a real key-manager delegation
 * and bucket (so key and archive routes can succeed), and one logged-in device per role.
 */
export async function createFixtureOrg(t: TestApp): Promise<FixtureContext> {
  const archive = await createArchivingOrg(t, 1);
  const admin = archive.admin;
  const auditor = await enrolNewUser(t.app, admin, 'auditor');
  const member = archive.members[0];
  if (member === undefined) throw new Error('archiving org without a member');
  const org: TestOrg = {
    orgId: archive.orgId,
    devices: { admin, officer: archive.officer, member, auditor },
  };
  return { t, org, spareUserId: await createSpareUser(t, org), archive, writers: new Map() };
}

/** Builds a valid request for one route, as sent by `caller` (public routes ignore it). */
export type RouteFixture = (ctx: FixtureContext, caller: TestDevice) => Promise<RouteRequest>;

/** One envelope of dummy ciphertext for each listed device. */
function envelopesFor(...deviceIds: DeviceId[]): Record<string, unknown>[] {
  return deviceIds.map((deviceId) => ({ deviceId, type: 1, content: randomBytes(16).toString('base64url') }));
}

/**
 * An admin's code for a fresh user: never for `spareUserId`, which must stay without a device
 * (an admin's code for a user with an active device is USER_HAS_DEVICE).
 */
async function freshEnrolmentCode(ctx: FixtureContext): Promise<string> {
  return enrolmentCodeFor(ctx.t.app, ctx.org.devices.admin, await createSpareUser(ctx.t, ctx.org));
}

/** Queues a fresh review item of the fixture org (at an unused log index); resolves to its id. */
async function seedReviewItem({ t, org, archive }: FixtureContext): Promise<string> {
  const itemId = newId<UserId>();
  reviewSeeds += 1;
  await t.stores.review.queue(org.orgId, [
    {
      itemId,
      logIndex: 1_000_000 + reviewSeeds,
      deviceId: org.devices.member.deviceId,
      seq: 0,
      bucketId: archive.bucketId,
      sampled: true,
      ruleIds: [],
      queuedAt: t.clock.now,
    },
  ]);
  return itemId;
}
let reviewSeeds = 0;
let officerLists = 0;
/** Acknowledged fixture findings so far: each fixture call acknowledges a fresh one. */
let acknowledgedGaps = 0;

/** Another device of `caller`'s user, by a link code of theirs seeded in the store (the route is rate-limited). */
async function secondOwnDevice(ctx: FixtureContext, caller: TestDevice): Promise<TestDevice> {
  const org = await ctx.t.stores.orgs.get(caller.orgId);
  const code = newEnrolmentCode(caller.orgId, org?.signingKeyFingerprint ?? '');
  await ctx.t.stores.enrolmentCodes.create(caller.orgId, {
    codeHash: sha256(code),
    userId: caller.userId,
    createdBy: caller.deviceId,
    createdAt: ctx.t.clock.now,
    expiresAt: ctx.t.clock.now + 3_600_000,
  });
  return enrolAndLogin(ctx.t.app, caller.orgId, code);
}

/** Fixtures keyed by `METHOD url-pattern`. */
export const ROUTE_FIXTURES: Record<string, RouteFixture> = {
  'GET /healthz': async () => ({ method: 'GET', url: '/healthz' }),
  'POST /v1/orgs': async ({ t }) => ({
    method: 'POST',
    url: '/v1/orgs',
    body: orgCreateBody(t.bootstrapToken),
  }),
  'GET /v1/orgs/:orgId': async ({ org }) => ({ method: 'GET', url: `/v1/orgs/${org.orgId}` }),
  'POST /v1/orgs/:orgId/devices': async (ctx) => ({
    method: 'POST',
    url: `/v1/orgs/${ctx.org.orgId}/devices`,
    body: { ...deviceKeys(1, 1).body, enrolmentCode: await freshEnrolmentCode(ctx) },
  }),
  'POST /v1/auth/challenge': async ({ org }) => ({
    method: 'POST',
    url: '/v1/auth/challenge',
    body: { orgId: org.orgId, deviceId: org.devices.member.deviceId },
  }),
  'POST /v1/auth/token': async ({ org }) => ({
    method: 'POST',
    url: '/v1/auth/token',
    body: {
      orgId: org.orgId,
      deviceId: org.devices.member.deviceId,
      challengeId: newId<ChallengeId>(),
      signature: randomBytes(64).toString('base64url'),
    },
  }),
  'GET /v1/session': async () => ({ method: 'GET', url: '/v1/session' }),
  'GET /v1/orgs/:orgId/users': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/users?limit=10`,
  }),
  'POST /v1/orgs/:orgId/users': async ({ org }) => ({
    method: 'POST',
    url: `/v1/orgs/${org.orgId}/users`,
    body: { role: 'member' },
  }),
  'PUT /v1/orgs/:orgId/users/:userId/role': async ({ org, spareUserId }) => ({
    method: 'PUT',
    url: `/v1/orgs/${org.orgId}/users/${spareUserId}/role`,
    body: { role: 'member' },
  }),
  'PUT /v1/orgs/:orgId/users/:userId/retention': async ({ org, spareUserId }) => ({
    method: 'PUT',
    url: `/v1/orgs/${org.orgId}/users/${spareUserId}/retention`,
    body: { retentionClass: 'standard' },
  }),
  'DELETE /v1/orgs/:orgId/users/:userId/retention': async ({ org, spareUserId }) => ({
    method: 'DELETE',
    url: `/v1/orgs/${org.orgId}/users/${spareUserId}/retention`,
  }),
  'GET /v1/orgs/:orgId/roles': async ({ org }) => ({ method: 'GET', url: `/v1/orgs/${org.orgId}/roles` }),
  'PUT /v1/orgs/:orgId/roles/:role/retention': async ({ org }) => ({
    method: 'PUT',
    url: `/v1/orgs/${org.orgId}/roles/auditor/retention`,
    body: { retentionClass: 'permanent' },
  }),
  'POST /v1/orgs/:orgId/users/:userId/enrolment-codes': async ({ org, spareUserId }) => ({
    method: 'POST',
    url: `/v1/orgs/${org.orgId}/users/${spareUserId}/enrolment-codes`,
    body: { ttlSeconds: 3600 },
  }),
  'GET /v1/orgs/:orgId/devices': async ({ org, spareUserId }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/devices?userId=${spareUserId}`,
  }),
  'POST /v1/orgs/:orgId/devices/:deviceId/revoke': async (ctx) => {
    const d = await enrolAndLogin(ctx.t.app, ctx.org.orgId, await freshEnrolmentCode(ctx));
    return { method: 'POST', url: `/v1/orgs/${ctx.org.orgId}/devices/${d.deviceId}/revoke` };
  },

  // A user's own devices.
  'GET /v1/devices': async () => ({ method: 'GET', url: '/v1/devices' }),
  'POST /v1/devices/link-codes': async () => ({
    method: 'POST',
    url: '/v1/devices/link-codes',
    body: { ttlSeconds: 600 },
  }),
  // A second device of the caller's own user, by a link code of theirs seeded in the store
  // (the route is rate-limited).
  'POST /v1/devices/:deviceId/revoke': async (ctx, caller) => {
    const d = await secondOwnDevice(ctx, caller);
    return { method: 'POST', url: `/v1/devices/${d.deviceId}/revoke` };
  },
  // Retiring revokes the caller: a second device of the caller's user retires instead.
  'POST /v1/devices/retire': async (ctx, caller) => {
    const d = await secondOwnDevice(ctx, caller);
    return {
      method: 'POST',
      url: '/v1/devices/retire',
      body: { stranded: { firstSeq: 0, lastSeq: 0 } },
      headers: d.headers(),
    };
  },

  // Prekeys (relay issue).
  'GET /v1/prekeys': async () => ({ method: 'GET', url: '/v1/prekeys' }),
  'PUT /v1/prekeys': async () => ({
    method: 'PUT',
    url: '/v1/prekeys',
    body: {
      oneTimePreKeys: [
        {
          keyId: randomBytes(3).readUIntBE(0, 3),
          publicKey: Buffer.from(PrivateKey.generate().getPublicKey().serialize()).toString('base64url'),
        },
      ],
    },
  }),
  'GET /v1/prekey-bundles/:peerOrgId/:userId': async ({ org }) => ({
    method: 'GET',
    url: `/v1/prekey-bundles/${org.orgId}/${org.devices.member.userId}`,
  }),
  'GET /v1/prekey-bundles/:peerOrgId/:userId/:deviceId': async ({ org }) => ({
    method: 'GET',
    url: `/v1/prekey-bundles/${org.orgId}/${org.devices.member.userId}/${org.devices.member.deviceId}`,
  }),

  // Relay: a message to a single-device user other than the caller's own.
  'PUT /v1/messages': async ({ org }, caller) => {
    const to = caller.userId === org.devices.member.userId ? org.devices.officer : org.devices.member;
    return {
      method: 'PUT',
      url: '/v1/messages',
      body: {
        recipient: { orgId: to.orgId, userId: to.userId },
        envelopes: envelopesFor(to.deviceId),
        idempotencyKey: randomBytes(16).toString('base64url'),
      },
    };
  },
  'GET /v1/messages': async () => ({ method: 'GET', url: '/v1/messages?limit=10' }),
  'DELETE /v1/messages/:envelopeId': async ({ t, org }, caller) => {
    const from = caller.userId === org.devices.auditor.userId ? org.devices.member : org.devices.auditor;
    // Every current device of the caller's user (other fixtures may have linked more).
    const current = (await t.stores.devices.list(caller.orgId, { after: null, limit: 100 }, caller.userId))
      .filter((d) => d.revokedAt === null)
      .map((d) => d.deviceId);
    const sent = await call(
      t.app,
      'PUT',
      '/v1/messages',
      { recipient: { orgId: caller.orgId, userId: caller.userId }, envelopes: envelopesFor(...current) },
      from.headers(),
    );
    const envelopeId = sent
      .json<{ envelopes?: { deviceId: string; envelopeId: string }[] }>()
      .envelopes?.find((e) => e.deviceId === caller.deviceId)?.envelopeId;
    if (envelopeId === undefined) throw new Error(`send failed: ${sent.body}`);
    return { method: 'DELETE', url: `/v1/messages/${envelopeId}` };
  },

  // Blobs: content-addressed uploads of opaque bytes.
  'PUT /v1/blobs/:blobId': async () => {
    const payload = randomBytes(64);
    return {
      method: 'PUT',
      url: `/v1/blobs/${blobIdOf(payload)}`,
      raw: { payload, contentType: 'application/octet-stream' },
    };
  },
  // Uploaded by the caller's own org: blobs are per organisation (cross-org reads: bad-input test).
  'GET /v1/blobs/:blobId': async ({ t }, caller) => {
    const blobId = await uploadTestBlob(t, caller);
    return { method: 'GET', url: `/v1/blobs/${blobId}` };
  },

  // Archive and keys (archive issue).
  'POST /v1/archive/batches': async (ctx, caller) => {
    let w = ctx.writers.get(caller.deviceId);
    if (w === undefined) {
      w = await ArchiveWriter.create(ctx.archive, caller);
      ctx.writers.set(caller.deviceId, w);
    }
    return { method: 'POST', url: '/v1/archive/batches', body: uploadBody(w.batch(1, 64)) };
  },
  'POST /v1/orgs/:orgId/buckets': async ({ org, archive }) => {
    const { document } = await bucketDocument(
      org.orgId,
      archive.keyManager,
      `fx-${randomBytes(6).toString('hex')}`,
    );
    return {
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/buckets`,
      body: { document: Buffer.from(document).toString('base64url') },
    };
  },
  'PUT /v1/orgs/:orgId/buckets/:bucketId/officer-wraps/:officerIndex': async ({ org, archive }) => ({
    method: 'PUT',
    url: `/v1/orgs/${org.orgId}/buckets/${archive.bucketId}/officer-wraps/0`,
    body: { blob: randomBytes(80).toString('base64url') },
  }),
  'GET /v1/orgs/:orgId/buckets/:bucketId/officer-wraps': async ({ org, archive }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/buckets/${archive.bucketId}/officer-wraps`,
  }),
  'PUT /v1/orgs/:orgId/buckets/:bucketId/index-keys/:deviceId': async ({ org, archive }) => ({
    method: 'PUT',
    url: `/v1/orgs/${org.orgId}/buckets/${archive.bucketId}/index-keys/${org.devices.member.deviceId}`,
    body: { blob: randomBytes(80).toString('base64url') },
  }),
  'POST /v1/archive/gaps': async (ctx, caller) => {
    let w = ctx.writers.get(caller.deviceId);
    if (w === undefined) {
      w = await ArchiveWriter.create(ctx.archive, caller);
      ctx.writers.set(caller.deviceId, w);
    }
    return { method: 'POST', url: '/v1/archive/gaps', body: declareGap(w, 2).body };
  },
  'GET /v1/archive/head': async () => ({ method: 'GET', url: '/v1/archive/head' }),
  // Officer search (search issue): checkpoints are signed first so every hit carries a proof.
  'POST /v1/orgs/:orgId/archive/search': async ({ t, org, archive }) => {
    await testIntegrator(t.stores, FIXTURE_LOG_KEY).integrateAll();
    return {
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/archive/search`,
      body: {
        buckets: [{ bucket: archive.bucketId, tokens: [randomBytes(16).toString('base64url')] }],
        limit: 10,
      },
    };
  },
  'GET /v1/orgs/:orgId/archive/records': async ({ t, org }) => {
    await testIntegrator(t.stores, FIXTURE_LOG_KEY).integrateAll();
    return {
      method: 'GET',
      url: `/v1/orgs/${org.orgId}/archive/records?device=${org.devices.member.deviceId}&limit=5`,
    };
  },
  // Legal holds (holds issue): a custodian hold on the spare user; release acts on a fresh hold.
  'POST /v1/orgs/:orgId/holds': async ({ org, spareUserId }) => ({
    method: 'POST',
    url: `/v1/orgs/${org.orgId}/holds`,
    body: { kind: 'custodian', custodian: spareUserId, matter: 'M-0001' },
  }),
  'GET /v1/orgs/:orgId/holds': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/holds?limit=10`,
  }),
  // Released on officer 0's signed statement (signed with their key: the route verifies it).
  'POST /v1/orgs/:orgId/holds/:holdId/release': async ({ t, org, spareUserId, archive }) => {
    const holdId = newId<OrgId>() as string as HoldId;
    const scope = { kind: 'custodian' as const, userId: spareUserId };
    await t.stores.holds.create(org.orgId, {
      holdId,
      matter: 'M-0002',
      scope,
      createdBy: org.devices.officer.deviceId,
      createdAt: t.clock.now,
    });
    return {
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/holds/${holdId}/release`,
      body: signedHoldRelease(archive, org.orgId, holdId, 'matter closed', 0, t.clock.now),
    };
  },
  // A query hold stored with no bucket yet, extended to the org's bucket.
  'PUT /v1/orgs/:orgId/holds/:holdId/sealed': async ({ t, org }) => {
    const holdId = newId<OrgId>() as string as HoldId;
    await t.stores.holds.create(org.orgId, {
      holdId,
      matter: 'M-0004',
      scope: { kind: 'query', buckets: [] },
      createdBy: org.devices.officer.deviceId,
      createdAt: t.clock.now,
    });
    return {
      method: 'PUT',
      url: `/v1/orgs/${org.orgId}/holds/${holdId}/sealed`,
      body: { sealed: randomBytes(64).toString('base64url') },
    };
  },
  'POST /v1/orgs/:orgId/holds/:holdId/buckets': async ({ t, org, archive }) => {
    const holdId = newId<OrgId>() as string as HoldId;
    await t.stores.holds.create(org.orgId, {
      holdId,
      matter: 'M-0003',
      scope: { kind: 'query', buckets: [] },
      createdBy: org.devices.officer.deviceId,
      createdAt: t.clock.now,
    });
    return {
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/holds/${holdId}/buckets`,
      body: { buckets: [{ bucketId: archive.bucketId, tokens: [randomBytes(16).toString('base64url')] }] },
    };
  },
  'POST /v1/orgs/:orgId/archive/exports': async ({ org }) => ({
    method: 'POST',
    url: `/v1/orgs/${org.orgId}/archive/exports`,
    body: { format: 'rsmf', records: 3, manifestSha256: randomBytes(32).toString('hex') },
  }),
  'GET /v1/orgs/:orgId/archive/completeness': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/archive/completeness`,
  }),
  'GET /v1/orgs/:orgId/archive/gaps': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/archive/gaps`,
  }),
  'PUT /v1/orgs/:orgId/archive/completeness/policy': async ({ org }) => ({
    method: 'PUT',
    url: `/v1/orgs/${org.orgId}/archive/completeness/policy`,
    body: { silentAfterMs: 7 * 86_400_000, receiptGraceMs: 86_400_000 },
  }),
  // The fixture org's officer keys are random bytes, so the acknowledgement is seeded in the
  // store and the route sees the identical statement again (a retry: answered, not refused).
  'POST /v1/orgs/:orgId/archive/completeness/acknowledgements': async ({ t, org }) => {
    const n = ++acknowledgedGaps;
    const findingId = `gap/${org.orgId}/${org.devices.member.deviceId}/${n}-${n}`;
    const statement = Buffer.from(
      encodeFindingAcknowledgement({
        orgId: org.orgId,
        findingId,
        reason: 'Fixture: records lost with a wiped phone.',
        officerIndex: 0,
        at: t.clock.now,
      }),
    );
    const signature = Buffer.alloc(64, 9);
    await t.stores.completeness.acknowledge(org.orgId, {
      findingId,
      state: '',
      statement,
      signature,
      deviceId: org.devices.officer.deviceId,
      acknowledgedAt: t.clock.now,
    });
    return {
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/archive/completeness/acknowledgements`,
      body: { statement: statement.toString('base64url'), signature: signature.toString('base64url') },
    };
  },
  'GET /v1/orgs/:orgId/archive/completeness/acknowledgements': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/archive/completeness/acknowledgements?limit=10`,
  }),
  'GET /v1/orgs/:orgId/alerts': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/alerts?since=0`,
  }),
  'GET /v1/orgs/:orgId/buckets': async ({ org }) => ({ method: 'GET', url: `/v1/orgs/${org.orgId}/buckets` }),
  'GET /v1/index-keys': async () => ({ method: 'GET', url: '/v1/index-keys' }),
  'GET /v1/orgs/:orgId/buckets/:bucketId/index-keys': async ({ org, archive }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/buckets/${archive.bucketId}/index-keys`,
  }),
  // The current delegation again: idempotent (the fixture holds no org signing key to sign a new one).
  'PUT /v1/orgs/:orgId/key-manager': async ({ t, org }) => ({
    method: 'PUT',
    url: `/v1/orgs/${org.orgId}/key-manager`,
    body: { delegation: (await t.stores.orgs.get(org.orgId))!.keyManager.delegation.toString('base64url') },
  }),

  // The current delegation again: idempotent (no org signing key to sign a rotation here).
  'POST /v1/orgs/:orgId/key-manager/rotations': async ({ t, org }) => ({
    method: 'POST',
    url: `/v1/orgs/${org.orgId}/key-manager/rotations`,
    body: {
      delegation: (await t.stores.orgs.get(org.orgId))!.keyManager.delegation.toString('base64url'),
      wraps: [{ recipient: 'root', blob: 'AA' }],
    },
  }),
  'GET /v1/orgs/:orgId/key-manager': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/key-manager`,
  }),
  // The current officers again, in a newer list signed by the org key (each call a later `iat`).
  'PUT /v1/orgs/:orgId/officers': async ({ t, org, archive }) => {
    const current = (await t.stores.orgs.get(org.orgId))!;
    officerLists += 1;
    const list = {
      org: org.orgId,
      quorum: current.officerQuorum,
      officers: current.officers,
      demote: [],
      issuedAt: t.clock.now + officerLists,
    };
    return {
      method: 'PUT',
      url: `/v1/orgs/${org.orgId}/officers`,
      body: { document: Buffer.from(sealOfficerList(list, archive.orgSigningKey)).toString('base64url') },
    };
  },
  // The caller bound to officer 0 (the fixture org's officer device already is: idempotent).
  'PUT /v1/orgs/:orgId/officer-binding': async ({ t, org, archive }, caller) => ({
    method: 'PUT',
    url: `/v1/orgs/${org.orgId}/officer-binding`,
    body: {
      statement: officerBindingStatement(caller, archive.officers[0]!, 0, t.clock.now).toString('base64url'),
    },
  }),
  'GET /v1/orgs/:orgId/officer-bindings': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/officer-bindings?limit=10`,
  }),
  // A new random root key replacing the current one (each call a later `iat`), every live bucket re-wrapped.
  'POST /v1/orgs/:orgId/root-archive-key/rotations': async ({ t, org, archive }) => {
    const current = (await t.stores.orgs.get(org.orgId))!;
    const needs = await rootRotationNeeds(t.stores, current);
    officerLists += 1;
    const statement = sealRootKeyStatement(
      {
        org: org.orgId,
        publicKey: randomBytes(32),
        previous: current.rootArchivePublicKey,
        issuedAt: t.clock.now + officerLists,
      },
      archive.orgSigningKey,
    );
    return {
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/root-archive-key/rotations`,
      body: {
        statement: Buffer.from(statement).toString('base64url'),
        wraps: needs.buckets.map((bucketId) => ({ bucketId, blob: 'AA' })),
        ...(needs.keyManagerSeq === undefined ? {} : { keyManagerWrap: 'AA' }),
      },
    };
  },
  'GET /v1/orgs/:orgId/root-archive-key': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/root-archive-key`,
  }),
  'GET /v1/orgs/:orgId/key-manager/wraps': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/key-manager/wraps`,
  }),

  // Disposition: a plan for now of a fresh expired, empty bucket (with nothing expired there
  // is no plan: NOTHING_TO_DISPOSE). Approvals by officers 0 and 1, signed with their keys, are
  // seeded in the store (execution counts only approvals that verify), and the approval route
  // sees officer 0's identical approval again (idempotent).
  'POST /v1/orgs/:orgId/dispositions': async (ctx) => {
    await addExpiredBucket(ctx);
    return { method: 'POST', url: `/v1/orgs/${ctx.org.orgId}/dispositions`, body: { asOf: ctx.t.clock.now } };
  },
  'GET /v1/orgs/:orgId/dispositions/:planId': async (ctx) => ({
    method: 'GET',
    url: `/v1/orgs/${ctx.org.orgId}/dispositions/${await seedApprovedPlan(ctx)}`,
  }),
  'POST /v1/orgs/:orgId/dispositions/:planId/approvals': async (ctx) => {
    // Officer 0's approval again: idempotent (the plan holds it already).
    const planId = await seedApprovedPlan(ctx);
    const signature = seededApprovals.get(planId)!.toString('base64url');
    return {
      method: 'POST',
      url: `/v1/orgs/${ctx.org.orgId}/dispositions/${planId}/approvals`,
      body: { officerIndex: 0, signature },
    };
  },
  'POST /v1/orgs/:orgId/dispositions/:planId/execute': async (ctx) => ({
    method: 'POST',
    url: `/v1/orgs/${ctx.org.orgId}/dispositions/${await seedApprovedPlan(ctx)}/execute`,
  }),

  // The log (public read routes).
  'GET /v1/orgs/:orgId/log': async ({ org }) => ({ method: 'GET', url: `/v1/orgs/${org.orgId}/log` }),
  'GET /v1/orgs/:orgId/log/checkpoint': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/log/checkpoint`,
  }),
  'GET /v1/orgs/:orgId/log/checkpoints': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/log/checkpoints?limit=10`,
  }),
  'GET /v1/orgs/:orgId/log/tile/*': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/log/tile/0/000`,
  }),
  'GET /v1/orgs/:orgId/log/proof/inclusion': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/log/proof/inclusion?index=0`,
  }),
  'GET /v1/orgs/:orgId/log/proof/consistency': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/log/proof/consistency?from=1`,
  }),
  // Supervision review (review-routes.ts): items and rules are seeded in the store.
  'POST /v1/orgs/:orgId/review/rules': async ({ org, archive }) => ({
    method: 'POST',
    url: `/v1/orgs/${org.orgId}/review/rules`,
    body: {
      name: 'R-1',
      terms: 1,
      buckets: [{ bucket: archive.bucketId, terms: [[randomBytes(16).toString('base64url')]] }],
    },
  }),
  'GET /v1/orgs/:orgId/review/rules': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/review/rules`,
  }),
  'POST /v1/orgs/:orgId/review/rules/:ruleId/removal': async ({ t, org, archive }) => {
    const ruleId = newId<UserId>();
    await t.stores.review.addRule(
      org.orgId,
      { ruleId, name: 'R', terms: 1, createdBy: org.devices.officer.deviceId, createdAt: t.clock.now },
      [{ bucketId: archive.bucketId, term: 0, tokens: randomBytes(16) }],
    );
    return { method: 'POST', url: `/v1/orgs/${org.orgId}/review/rules/${ruleId}/removal` };
  },
  // A rule stored with no bucket yet, extended to the org's bucket.
  'PUT /v1/orgs/:orgId/review/rules/:ruleId/sealed': async ({ t, org }) => {
    const ruleId = newId<UserId>();
    await t.stores.review.addRule(
      org.orgId,
      { ruleId, name: 'R', terms: 1, createdBy: org.devices.officer.deviceId, createdAt: t.clock.now },
      [],
    );
    return {
      method: 'PUT',
      url: `/v1/orgs/${org.orgId}/review/rules/${ruleId}/sealed`,
      body: { sealed: randomBytes(64).toString('base64url') },
    };
  },
  'POST /v1/orgs/:orgId/review/rules/:ruleId/buckets': async ({ t, org, archive }) => {
    const ruleId = newId<UserId>();
    await t.stores.review.addRule(
      org.orgId,
      { ruleId, name: 'R', terms: 1, createdBy: org.devices.officer.deviceId, createdAt: t.clock.now },
      [],
    );
    return {
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/review/rules/${ruleId}/buckets`,
      body: { buckets: [{ bucket: archive.bucketId, terms: [[randomBytes(16).toString('base64url')]] }] },
    };
  },
  'GET /v1/orgs/:orgId/review/settings': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/review/settings`,
  }),
  'PUT /v1/orgs/:orgId/review/settings': async ({ org }) => ({
    method: 'PUT',
    url: `/v1/orgs/${org.orgId}/review/settings`,
    body: { sampleRate: 20_000 },
  }),
  'GET /v1/orgs/:orgId/review/next': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/review/next`,
  }),
  'GET /v1/orgs/:orgId/review/items/:itemId': async (ctx) => ({
    method: 'GET',
    url: `/v1/orgs/${ctx.org.orgId}/review/items/${await seedReviewItem(ctx)}`,
  }),
  'POST /v1/orgs/:orgId/review/items/:itemId/decision': async (ctx) => ({
    method: 'POST',
    url: `/v1/orgs/${ctx.org.orgId}/review/items/${await seedReviewItem(ctx)}/decision`,
    body: { decision: 'cleared', note: randomBytes(90).toString('base64url') },
  }),
  'GET /v1/orgs/:orgId/audit': async ({ t, org }) => {
    await testIntegrator(t.stores, FIXTURE_LOG_KEY).integrateAll();
    return { method: 'GET', url: `/v1/orgs/${org.orgId}/audit?limit=10` };
  },
  'GET /v1/orgs/:orgId/officers/latest-change': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/officers/latest-change`,
  }),
  'GET /v1/orgs/:orgId/officers/history': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/officers/history`,
  }),
  'GET /v1/orgs/:orgId/log/receipts/:index': async ({ org }) => ({
    method: 'GET',
    url: `/v1/orgs/${org.orgId}/log/receipts/0`,
  }),
};

/** The signature seeded as each fixture officer's approval. */
/** Officer 0's approval of each seeded plan, by plan id. */
const seededApprovals = new Map<string, Buffer>();

/** Registers a fresh empty transitory bucket of org A that expired long ago (something to plan). */
async function addExpiredBucket({ t, org }: FixtureContext): Promise<void> {
  const bucketId = `transitory-2020-01-${randomBytes(6).toString('hex')}`;
  await registerExpiredBucket(t.stores, org.orgId, org.devices.officer.deviceId, bucketId);
}

/**
 * The body of a hold release by officer `officerIndex` of `archive`: reason, the signed
 * statement (core hold-release.ts) and its signature, base64url as the route takes them.
 */
export function signedHoldRelease(
  archive: ArchivingOrg,
  orgId: string,
  holdId: string,
  reason: string,
  officerIndex: number,
  at: number,
): { reason: string; statement: string; signature: string } {
  const statement = encodeHoldRelease({
    orgId,
    holdId,
    reasonSha256: holdReleaseReasonHash(reason),
    officerIndex,
    at,
  });
  const signature = sign(null, holdReleaseMessage(statement), archive.officers[officerIndex]!.signingKey);
  return {
    reason,
    statement: Buffer.from(statement).toString('base64url'),
    signature: signature.toString('base64url'),
  };
}

/** A plan of org A for a fresh as-of date with two seeded approvals; resolves to its id. */
async function seedApprovedPlan(ctx: FixtureContext): Promise<string> {
  const { t, org } = ctx;
  await addExpiredBucket(ctx);
  const made = await call(
    t.app,
    'POST',
    `/v1/orgs/${org.orgId}/dispositions`,
    { asOf: ++t.clock.now },
    org.devices.officer.headers(),
  );
  const { planId, plan } = made.json<{ planId: string; plan: string }>();
  for (const officerIndex of [0, 1]) {
    // Signed by the officer's key: execution counts only approvals that verify with the list.
    const message = dispositionApprovalMessage(Buffer.from(plan, 'base64url'));
    const approval = {
      officerIndex,
      signature: sign(null, message, ctx.archive.officers[officerIndex]!.signingKey),
      deviceId: org.devices.officer.deviceId,
      at: t.clock.now,
    };
    await t.stores.disposition.putApproval(org.orgId, planId, approval);
    if (officerIndex === 0) seededApprovals.set(planId, approval.signature);
  }
  return planId;
}

/** Uploads 64 random bytes as `device`; resolves to the blob id. */
export async function uploadTestBlob(t: TestApp, device: TestDevice): Promise<string> {
  const payload = randomBytes(64);
  const blobId = blobIdOf(payload);
  const up = await t.app.inject({
    method: 'PUT',
    url: `/v1/blobs/${blobId}`,
    headers: { ...device.headers(), 'content-type': 'application/octet-stream' },
    payload,
  });
  if (up.statusCode !== 200) throw new Error(`blob upload failed: ${up.body}`);
  return blobId;
}

/** Creates the spare user that fixtures act on. */
export async function createSpareUser(t: TestApp, org: TestOrg): Promise<UserId> {
  const r = await call(
    t.app,
    'POST',
    `/v1/orgs/${org.orgId}/users`,
    { role: 'member' },
    org.devices.admin.headers(),
  );
  return r.json<{ userId: UserId }>().userId;
}

/** A new logged-in device of a new user of `org` with the role officer, bound to no officer. */
export async function unboundOfficerDevice(t: TestApp, org: TestOrg): Promise<TestDevice> {
  return enrolNewUser(t.app, org.devices.admin, 'officer');
}

/**
 * A new logged-in device of a new officer user of `org`, bound to officer `index` (signed with
 * that officer's key): the device an officer other than officer 0 submits their own decisions from.
 */
export async function boundOfficerDevice(t: TestApp, org: TestOrg, index: number): Promise<TestDevice> {
  const officer = org.officers?.[index];
  if (officer === undefined) throw new Error(`the test org has no officer ${index}`);
  const device = await enrolNewUser(t.app, org.devices.admin, 'officer');
  await bindOfficer(t.app, device, officer, index, t.clock.now);
  return device;
}

/** Ids that exist nowhere, for "unknown id" cases. */
export function unknownIds(): { orgId: OrgId; userId: UserId; deviceId: DeviceId } {
  return { orgId: newId<OrgId>(), userId: newId<UserId>(), deviceId: newId<DeviceId>() };
}
