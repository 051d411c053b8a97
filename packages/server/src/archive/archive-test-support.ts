/**
 * Test and bench support for archive ingest: an organisation with a real org signing key,
 * key-manager delegation and registered bucket, devices per role, and a scripted device
 * that seals, chains and signs record batches as a client would.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import {
  BucketPublicKey,
  createSessionSealer,
  generateBucketKeyPair,
  genesisPrevHash,
  sealRecordBytes,
  signBatch,
  signGapDeclaration,
  type BucketId,
  type GapReason,
  type DeviceId as CoreDeviceId,
  type OrgId as CoreOrgId,
  type RecordHash,
  type SessionSealer,
  sealBucketKeyDocument,
  sealKeyManagerDelegation,
} from '@custos/core';
import type { FastifyInstance } from 'fastify';
import type { OrgId } from '../ids.js';
import {
  bindOfficer,
  call,
  enrolAndLogin,
  enrolNewUser,
  orgCreateBody,
  testOfficers,
  type TestApp,
  type TestDevice,
  type TestOfficer,
} from '../testing/test-app.js';

/** A far validity window used by test delegations and buckets. */
export const TEST_WINDOW = { notBefore: 1_600_000_000_000, notAfter: 2_000_000_000_000 } as const;

/** An org ready to archive. */
export interface ArchivingOrg {
  readonly orgId: OrgId;
  readonly admin: TestDevice;
  /** A device of an officer user, bound to officer index 0. */
  readonly officer: TestDevice;
  /** The org's officers, by index (real signing keys). */
  readonly officers: readonly TestOfficer[];
  readonly members: TestDevice[];
  readonly keyManager: KeyObject;
  /** The org signing key (private), for tests of root acts. */
  readonly orgSigningKey: KeyObject;
  readonly bucketId: string;
  /** The bucket's raw X25519 public key. */
  readonly bucketKey: Uint8Array;
}

function rawPublic(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url');
}

/** A signed bucket-key document for `orgId`. */
export async function bucketDocument(
  orgId: OrgId,
  keyManager: KeyObject,
  bucketId: string,
  window: { notBefore: number; notAfter: number } = TEST_WINDOW,
): Promise<{ document: Uint8Array; publicKey: Uint8Array }> {
  const pair = await generateBucketKeyPair();
  const document = sealBucketKeyDocument(
    {
      org: orgId,
      bucket: bucketId,
      retentionClass: 'standard',
      period: '2026',
      notBefore: window.notBefore,
      notAfter: window.notAfter,
      publicKey: pair.publicKey.toBytes(),
    },
    keyManager,
  );
  return { document, publicKey: pair.publicKey.toBytes() };
}

/**
 * Registers bucket `bucketId` of `window` (POST /v1/orgs/:orgId/buckets, as `org.officer`), its
 * document signed by `org.keyManager`; resolves to its raw X25519 public key, throws unless the
 * server registers it.
 */
export async function registerTestBucket(
  app: FastifyInstance,
  org: Pick<ArchivingOrg, 'orgId' | 'keyManager' | 'officer'>,
  bucketId: string,
  window: { notBefore: number; notAfter: number } = TEST_WINDOW,
): Promise<Uint8Array> {
  const { document, publicKey } = await bucketDocument(org.orgId, org.keyManager, bucketId, window);
  const r = await call(
    app,
    'POST',
    `/v1/orgs/${org.orgId}/buckets`,
    { document: Buffer.from(document).toString('base64url') },
    org.officer.headers(),
  );
  if (r.statusCode !== 201) throw new Error(`bucket registration failed: ${r.body}`);
  return publicKey;
}

/** Creates an org through the API with a real delegation, an officer, `members` members and one bucket. */
export async function createArchivingOrg(t: TestApp, members = 1): Promise<ArchivingOrg> {
  const { app } = t;
  const orgKey = generateKeyPairSync('ed25519');
  const km = generateKeyPairSync('ed25519');
  const delegation = sealKeyManagerDelegation(
    { key: rawPublic(km.publicKey), ...TEST_WINDOW },
    orgKey.privateKey,
  );
  const officers = testOfficers();
  const body = {
    ...orgCreateBody(t.bootstrapToken, officers),
    signingPublicKey: rawPublic(orgKey.publicKey).toString('base64url'),
    keyManager: { delegation: Buffer.from(delegation).toString('base64url'), ...TEST_WINDOW },
  };
  const r = await call(app, 'POST', '/v1/orgs', body);
  if (r.statusCode !== 201) throw new Error(`org create failed: ${r.body}`);
  const { orgId, enrolmentCode } = r.json<{ orgId: OrgId; enrolmentCode: string }>();
  const admin = await enrolAndLogin(app, orgId, enrolmentCode);
  const officer = await enrolNewUser(app, admin, 'officer');
  await bindOfficer(app, officer, officers[0]!, 0, t.clock.now);
  const list: TestDevice[] = [];
  for (let i = 0; i < members; i++) list.push(await enrolNewUser(app, admin, 'member'));
  const bucketId = 'std-2026';
  const bucketKey = await registerTestBucket(app, { orgId, keyManager: km.privateKey, officer }, bucketId);
  return {
    orgId,
    admin,
    officer,
    officers,
    members: list,
    keyManager: km.privateKey,
    orgSigningKey: orgKey.privateKey,
    bucketId,
    bucketKey,
  };
}

/** A device's archive writer: seals 1 KiB-ish records, chains and signs them. */
export class ArchiveWriter {
  seq = 0;
  prev: RecordHash = genesisPrevHash();
  sessionKeySent = false;

  private constructor(
    readonly device: TestDevice,
    readonly sealer: SessionSealer,
  ) {}

  /** A writer for `device` sealing to a fresh session key under the org's bucket. */
  static async create(org: ArchivingOrg, device: TestDevice): Promise<ArchiveWriter> {
    const sealer = await createSessionSealer(await BucketPublicKey.fromBytes(org.bucketKey), {
      org: org.orgId as string as CoreOrgId,
      device: device.deviceId as string as CoreDeviceId,
      bucket: org.bucketId as BucketId,
    });
    return new ArchiveWriter(device, sealer);
  }

  /** The chain position, to rewind after sealing a batch that is not meant to be stored. */
  mark(): { seq: number; prev: RecordHash; sent: boolean } {
    return { seq: this.seq, prev: this.prev, sent: this.sessionKeySent };
  }

  /** Rewinds to a {@link mark}. */
  reset(m: { seq: number; prev: RecordHash; sent: boolean }): void {
    this.seq = m.seq;
    this.prev = m.prev;
    this.sessionKeySent = m.sent;
  }

  /**
   * Seals `n` new records (advancing the chain) and returns them with their signature;
   * `attachments` goes into every header ("asz", and "att" when it lists blob ids).
   */
  batch(
    n: number,
    bodyBytes = 1024 - 120,
    attachments: { readonly attachmentBytes: number; readonly blobIds?: readonly string[] } = {
      attachmentBytes: 0,
    },
  ): { records: Uint8Array[]; signature: Uint8Array; sessionKeys: Uint8Array[]; firstSeq: number } {
    const ctx = this.sealer.context;
    const records: Uint8Array[] = [];
    const hashes: RecordHash[] = [];
    const firstSeq = this.seq;
    for (let i = 0; i < n; i++) {
      const r = sealRecordBytes(
        this.sealer,
        {
          org: ctx.org,
          device: ctx.device,
          bucket: ctx.bucket,
          seq: this.seq,
          prev: this.prev,
          tokens: [],
          ...attachments,
        },
        randomBytes(bodyBytes),
      );
      records.push(r.bytes);
      hashes.push(r.hash);
      this.prev = r.hash;
      this.seq++;
    }
    const signature = signBatch(this.device.identity, { org: ctx.org, device: ctx.device, firstSeq, hashes });
    const sessionKeys = this.sessionKeySent ? [] : [this.sealer.wrappedKey];
    this.sessionKeySent = true;
    return { records, signature, sessionKeys, firstSeq };
  }
}

/**
 * A gap declaration for the next `n` sequence numbers of `w`, signed by its device, as if
 * those records were sealed and then lost (docs/archive-format.md §6.1); advances the chain
 * past them, to `resume` (the last lost record's hash; random by default). Returns the body
 * of POST /v1/archive/gaps.
 */
export function declareGap(
  w: ArchiveWriter,
  n: number,
  reason: GapReason = 'server-restored',
  resume: RecordHash = Uint8Array.from(randomBytes(32)) as RecordHash,
): { body: { declaration: string }; document: Uint8Array; firstSeq: number; lastSeq: number } {
  const ctx = w.sealer.context;
  const document = signGapDeclaration(w.device.identity, {
    org: ctx.org,
    device: ctx.device,
    firstSeq: w.seq,
    lastSeq: w.seq + n - 1,
    prev: w.prev,
    resume,
    reason,
  });
  const firstSeq = w.seq;
  w.seq += n;
  w.prev = resume;
  return {
    body: { declaration: Buffer.from(document).toString('base64url') },
    document,
    firstSeq,
    lastSeq: firstSeq + n - 1,
  };
}

/** The JSON body of POST /v1/archive/batches. */
export function uploadBody(b: { records: Uint8Array[]; signature: Uint8Array; sessionKeys: Uint8Array[] }): {
  records: string[];
  signature: string;
  sessionKeys: string[];
} {
  const s = (u: Uint8Array) => Buffer.from(u).toString('base64url');
  return { records: b.records.map(s), signature: s(b.signature), sessionKeys: b.sessionKeys.map(s) };
}

/** The binary body of POST /v1/archive/batches (for clients of the bench and tests). */
export { ARCHIVE_BATCH_MEDIA_TYPE, decodeBatchUpload, encodeBatchUpload } from './batch-wire.js';
