/**
 * Generating bucket keys ahead (`custos org buckets --ahead N`; docs/officers.md §3): for
 * every retention class, the current month and the next N. Each bucket document is signed
 * with the key-manager key from the officer's key file; the bucket's index key is derived
 * from the org index secret (docs/blind-index.md §1), which only a quorum recovers — so the
 * caller passes it from `unlockRoot`. The private half and index key are wrapped to the
 * root archive key and to every officer named in the profile's org.json (never the server's
 * list, which a hostile server could extend).
 *
 * Crash safety, the invariant being that no bucket is ever registered whose private key is
 * lost: the document and every wrap are written to `pending-buckets/<id>.json` in the
 * profile before the bucket is registered; registration (idempotent), the root wrap and the
 * officer wraps follow; the profile files are updated; then the pending file goes. A rerun
 * first finishes pending buckets, then skips every bucket already registered, so it never
 * duplicates. Windows beyond the delegation stop the run before anything is made.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BucketPublicKey,
  deriveBucketIndexKeyBytes,
  generateBucketKeyPair,
  openBucketKeyDocument,
  sealBucketKeyDocument,
  type BucketKeyDocument,
} from '@custos/core';
import { monthlyPeriods } from './bucket-periods.js';
import { officerRecipient, wrapBucketKey } from './bucket-key-wrap.js';
import { b64u } from './ceremony-api.js';
import { ConsoleError } from './console-error.js';
import { RETENTION_CLASSES, type RetentionClass } from './defaults.js';
import { decodeOfficerPublicKey } from './officer-keys.js';
import { orgKeyManagerOf, recordBuckets, type LocalBucketEntry } from './officer-profile-update.js';
import type { OfficerSession, VerifiedOrgKeys, VerifiedServerBucket } from './officer-session.js';
import { keyFingerprint, type SigningKey } from './signing-key.js';
import { exists, wipeFile, writePrivateFile } from './private-files.js';
import { formatProfileFile, fromB64u } from './profile-files.js';

/** Folder of an officer profile holding buckets made but not yet fully registered. */
export const PENDING_BUCKETS_DIR = 'pending-buckets';
/** Most months `--ahead` accepts (the delegation bounds it anyway). */
export const MAX_AHEAD_MONTHS = 24;

/** pending-buckets/<id>.json: public and wrapped material only. */
interface PendingBucket {
  readonly format: 'custos-pending-bucket';
  readonly version: 1;
  readonly orgId: string;
  readonly bucketId: string;
  readonly document: string;
  /** Recipient (`root` or the officer index) → wrap. */
  readonly wraps: Readonly<Record<string, string>>;
}

/** What a run did. */
export interface AheadResult {
  /** Buckets made and registered by this run. */
  readonly created: readonly string[];
  /** Buckets an interrupted run had made, finished by this one. */
  readonly resumed: readonly string[];
  /** Planned buckets that were registered already (skipped). */
  readonly existing: readonly string[];
}

/** Options of {@link generateBucketsAhead}. */
export interface AheadOptions {
  /** Months after the current one (0 = the current month only). */
  readonly months: number;
  readonly now: number;
  /** The org index secret (32 bytes) from a quorum unlock. The caller wipes it. */
  readonly indexSecret: Uint8Array;
  readonly progress?: (message: string) => void;
}

/** The buckets `--ahead months` wants at `now`: every class × the current and the next `months` months. */
export function aheadPlan(
  now: number,
  months: number,
): {
  bucketId: string;
  retentionClass: RetentionClass;
  period: string;
  notBefore: number;
  notAfter: number;
}[] {
  const periods = monthlyPeriods(now, months + 1);
  return RETENTION_CLASSES.flatMap((retentionClass) =>
    periods.map((p) => ({ ...p, retentionClass, bucketId: `${retentionClass}-${p.period}` })),
  );
}

type PlannedBucket = ReturnType<typeof aheadPlan>[number];

/**
 * Adjusts the plan to the key-manager chain (docs/keys.md §5): a class and month counts as
 * covered only by a bucket signed by the CURRENT key. After a rotation the old key's buckets
 * of the current and later months are superseded: the new bucket takes the id
 * `<class>-<period>.k<8 characters of the new key's fingerprint>` when the plain id is taken,
 * and starts no earlier than the new delegation, so devices (which seal to the covering bucket
 * that starts last) move to it at once.
 */
export function planAfterRotation(
  planned: readonly PlannedBucket[],
  registered: readonly VerifiedServerBucket[],
  keys: Pick<VerifiedOrgKeys, 'keyManager'>,
): { plan: PlannedBucket[]; missing: PlannedBucket[] } {
  const ids = new Set(registered.map((b) => b.bucket));
  const covered = new Map(
    registered.filter((b) => b.currentKey).map((b) => [`${b.retentionClass}|${b.period}`, b.bucket]),
  );
  const suffix = `.k${keyFingerprint(keys.keyManager.key).slice(0, 8)}`;
  const plan: PlannedBucket[] = [];
  const missing: PlannedBucket[] = [];
  for (const p of planned) {
    const have = covered.get(`${p.retentionClass}|${p.period}`);
    if (have !== undefined) {
      plan.push({ ...p, bucketId: have });
      continue;
    }
    const next = {
      ...p,
      bucketId: ids.has(p.bucketId) ? `${p.bucketId}${suffix}` : p.bucketId,
      notBefore: Math.max(p.notBefore, keys.keyManager.notBefore),
    };
    plan.push(next);
    missing.push(next);
  }
  return { plan, missing };
}

function pendingFiles(dir: string): string[] {
  const d = join(dir, PENDING_BUCKETS_DIR);
  if (!exists(d)) return [];
  return readdirSync(d)
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(d, f));
}

/** Registers a pending bucket and its wraps, records it in the profile, removes the pending file. */
async function finish(session: OfficerSession, keys: VerifiedOrgKeys, path: string): Promise<string> {
  const p = JSON.parse(readFileSync(path, 'utf8')) as PendingBucket;
  if (p.format !== 'custos-pending-bucket' || p.orgId !== session.orgId || typeof p.wraps.root !== 'string') {
    throw new ConsoleError('PROFILE_INVALID', `${path} is not a pending bucket of this org`);
  }
  const document = fromB64u(p.document);
  // Re-verify what was written: a pending file is local input like any other.
  const doc = openBucketKeyDocument(document, keys.keyManager.key);
  if (doc.org !== session.orgId || doc.bucket !== p.bucketId)
    throw new ConsoleError('PROFILE_INVALID', `${path}: the document names another org or bucket`);
  const org = session.orgId;
  const bkt = encodeURIComponent(p.bucketId);
  await session.call('POST', `/v1/orgs/${org}/buckets`, { document: p.document });
  for (const [recipient, blob] of Object.entries(p.wraps))
    await session.call('PUT', `/v1/orgs/${org}/buckets/${bkt}/officer-wraps/${recipient}`, { blob });
  const entry: LocalBucketEntry = {
    doc,
    document,
    rootWrap: fromB64u(p.wraps.root),
    ...(p.wraps[String(session.officerIndex)] === undefined
      ? {}
      : { officerWrap: fromB64u(p.wraps[String(session.officerIndex)]!) }),
  };
  recordBuckets(session.dir, [entry], orgKeyManagerOf(keys.chain));
  wipeFile(path);
  return p.bucketId;
}

/** Makes one bucket's key, document and wraps, and writes them as a pending file; returns its path. */
async function make(
  session: OfficerSession,
  plan: ReturnType<typeof aheadPlan>[number],
  indexSecret: Uint8Array,
  keyManager: SigningKey,
): Promise<string> {
  const org = session.officer.org;
  const pair = await generateBucketKeyPair();
  const doc: BucketKeyDocument = {
    org: session.orgId,
    bucket: plan.bucketId,
    retentionClass: plan.retentionClass,
    period: plan.period,
    notBefore: plan.notBefore,
    notAfter: plan.notAfter,
    publicKey: pair.publicKey.toBytes(),
  };
  const document = sealBucketKeyDocument(doc, keyManager);
  const indexKey = deriveBucketIndexKeyBytes(indexSecret, plan.bucketId);
  try {
    const info = { org: session.orgId, bucket: plan.bucketId } as const;
    const wraps: Record<string, string> = {};
    const root = await BucketPublicKey.fromBytes(fromB64u(org.rootArchivePublicKey));
    wraps.root = b64u(await wrapBucketKey({ ...info, to: 'root' }, pair.privateKey, indexKey, root));
    for (const o of org.officers) {
      const key = await BucketPublicKey.fromBytes(decodeOfficerPublicKey(fromB64u(o.publicKey)).hpke);
      wraps[String(o.index)] = b64u(
        await wrapBucketKey({ ...info, to: officerRecipient(o.index) }, pair.privateKey, indexKey, key),
      );
    }
    const pending: PendingBucket = {
      format: 'custos-pending-bucket',
      version: 1,
      orgId: session.orgId,
      bucketId: plan.bucketId,
      document: b64u(document),
      wraps,
    };
    const path = join(session.dir, PENDING_BUCKETS_DIR, `${plan.bucketId}.json`);
    writePrivateFile(path, formatProfileFile(pending));
    return path;
  } finally {
    indexKey.fill(0);
  }
}

/** Finishes interrupted work, then makes and registers every missing planned bucket. */
export async function generateBucketsAhead(session: OfficerSession, o: AheadOptions): Promise<AheadResult> {
  if (!Number.isInteger(o.months) || o.months < 0 || o.months > MAX_AHEAD_MONTHS) {
    throw new ConsoleError('INVALID_OPTIONS', `--ahead must be an integer from 0 to ${MAX_AHEAD_MONTHS}`);
  }
  const say = o.progress ?? ((): void => undefined);
  const keys = await session.orgKeys();
  const resumed: string[] = [];
  for (const path of pendingFiles(session.dir)) {
    const id = await finish(session, keys, path);
    resumed.push(id);
    say(`bucket ${id}: finished the registration an earlier run began`);
  }
  const keyManager = await session.keyManagerKey();
  const { plan, missing } = planAfterRotation(
    aheadPlan(o.now, o.months),
    await session.serverBuckets(),
    keys,
  );
  const beyond = missing.find(
    (p) => p.notAfter > keys.keyManager.notAfter || p.notBefore < keys.keyManager.notBefore,
  );
  if (beyond !== undefined) {
    throw new ConsoleError(
      'DELEGATION_TOO_SHORT',
      `bucket ${beyond.bucketId} would end after the key-manager delegation (valid until ${new Date(keys.keyManager.notAfter).toISOString()}); ` +
        "a quorum re-issues it with 'custos org unlock --reissue-delegation', or ask for fewer months. Nothing was made",
    );
  }
  const created: string[] = [];
  for (const p of missing) {
    const path = await make(session, p, o.indexSecret, keyManager);
    created.push(await finish(session, keys, path));
    say(
      `bucket ${p.bucketId}: key signed by the key manager, wrapped to the root and ${session.officer.org.officers.length} officers, registered`,
    );
  }
  return {
    created,
    resumed,
    existing: plan.filter((p) => !missing.includes(p)).map((p) => p.bucketId),
  };
}
