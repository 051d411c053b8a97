/**
 * Keeps a device's archive material current after enrolment: the key-manager delegation
 * (re-issued by a quorum: `custos org unlock --reissue-delegation`, or rotated to a new key:
 * `--rotate-key-manager`), the bucket keys
 * (generated ahead: `custos org buckets --ahead`), the device's blind-index keys (granted by
 * `custos console grant-index-keys`) and the user's retention class (set by an admin).
 *
 * Nothing is taken on the server's word: the org signing key must match the fingerprint
 * pinned at enrolment, a delegation must verify with it, and every bucket document with the
 * delegation (bucket-keys.ts). A refused document is never used and becomes a warning the
 * user sees once; the device keeps sealing to what it verified before.
 *
 * Runs on every sync and, for a client that stays open, before a send at most every
 * ARCHIVE_MATERIAL_REFRESH_MS (the time lives in the store, so per-command clients share it).
 */
import type { PrivateKey } from '@signalapp/libsignal-client';
import { NO_BUCKETS, verifyOrgMaterial, sessionRetentionClass } from '../enrol/enrol.js';
import type { KeyManager, RetentionClass } from '../enrol/org-keys.js';
import { ClientError, isClientError } from '../errors.js';
import { addWarning } from '../messaging/message-store.js';
import { loadProfile, saveProfile, type DeviceProfile, type SupersededKeyManager } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import type { ApiClient } from '../transport/api-client.js';
import { obj, str } from '../transport/response-checks.js';
import { refreshBuckets, refreshIndexKeys, refusedBuckets, type BucketRefresh } from './bucket-keys.js';

/** How often a send refreshes the archive material when no sync did it meanwhile. */
export const ARCHIVE_MATERIAL_REFRESH_MS = 15 * 60 * 1000;
/** Row of the `profile` table: when the material is next due (ms). */
const DUE_KEY = 'archive-material-due';
/** `from` of warnings about the server's key material (not a user). */
export const SERVER_WARNING_SOURCE = 'server';

/** What happened to the delegation the server served. */
export type DelegationOutcome = 'unchanged' | 'renewed' | 'rotated' | 'refused';

/** What one refresh found (`accepted`/`refused`: the bucket keys). */
export interface ArchiveMaterialRefresh extends BucketRefresh {
  readonly delegation: DelegationOutcome;
  readonly retentionClass: RetentionClass;
  readonly retentionChanged: boolean;
  /** Index keys sealed to this device that opened. */
  readonly indexKeys: number;
  /** The profile as it stands after the refresh. */
  readonly profile: DeviceProfile;
}

/**
 * Decides whether `next` replaces `current`. A renewal keeps the key-manager key and widens
 * the window (as the server also requires), so every bucket verified before still verifies;
 * one inside the current window is an older delegation served again ('unchanged'). A
 * delegation for another key that starts after the current one is a rotation ('rotated': the
 * current one becomes a superseded link); another key that starts no later, or a key a
 * rotation already superseded, is refused — a server replaying old delegations cannot roll the
 * device back.
 */
export function judgeDelegation(
  current: KeyManager,
  next: KeyManager,
  superseded: readonly SupersededKeyManager[] = [],
): DelegationOutcome {
  const same = (a: Uint8Array, b: Uint8Array): boolean =>
    Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
  if (!same(current.key, next.key)) {
    if (superseded.some((p) => same(p.key, next.key))) return 'refused';
    return next.notBefore > current.notBefore ? 'rotated' : 'refused';
  }
  if (next.notBefore >= current.notBefore && next.notAfter <= current.notAfter) return 'unchanged';
  return 'renewed';
}

function warn(store: LocalStore, at: number, detail: string): void {
  addWarning(store, { at, kind: 'archive-key-refused', from: SERVER_WARNING_SOURCE, detail });
}

/** Verifies the org's delegation as the server serves it now; refusals are warnings, not failures. */
async function refreshDelegation(
  api: ApiClient,
  store: LocalStore,
  profile: DeviceProfile,
  now: number,
): Promise<{
  outcome: DelegationOutcome;
  keyManager: KeyManager;
  previous: readonly SupersededKeyManager[] | undefined;
}> {
  const current = profile.keyManager;
  const kept = { keyManager: current, previous: profile.previousKeyManagers };
  let next: KeyManager;
  try {
    const org = obj(await api.request('GET', `/v1/orgs/${profile.orgId}`), 'org');
    const v = verifyOrgMaterial(org, profile.orgId, profile.pinnedFingerprint);
    next = v.keyManager;
  } catch (e) {
    if (
      !isClientError(e, 'ORG_KEY_MISMATCH') &&
      !isClientError(e, 'KEY_MANAGER_INVALID') &&
      !isClientError(e, 'ARCHIVE_POLICY_INVALID')
    )
      throw e;
    // The archive policy is kept as verified at enrolment: a refused statement changes nothing.
    warn(
      store,
      now,
      `the organisation material the server sent was refused (${e.message}); keeping what was verified before`,
    );
    return { outcome: 'refused', ...kept };
  }
  const outcome = judgeDelegation(current, next, profile.previousKeyManagers);
  if (outcome === 'refused') {
    warn(
      store,
      now,
      'the server sent a key-manager delegation for another key that is not a later rotation; keeping the one verified before',
    );
  }
  if (outcome === 'rotated') {
    // The current delegation becomes a superseded link: its buckets that start before the
    // rotation stay valid (records already sealed to them, the current month's bucket).
    const previous = [...(profile.previousKeyManagers ?? []), { ...current, supersededAt: next.notBefore }];
    return { outcome, keyManager: next, previous };
  }
  return { outcome, keyManager: outcome === 'renewed' ? next : current, previous: kept.previous };
}

/**
 * Re-reads and re-verifies the delegation, the retention class, the bucket keys and this
 * device's index keys, in that order (a renewed delegation can make further buckets verify),
 * and saves the profile if it changed. Warns once for each newly refused bucket.
 */
export async function refreshArchiveMaterial(
  api: ApiClient,
  store: LocalStore,
  identityKey: PrivateKey,
  now: number,
): Promise<ArchiveMaterialRefresh> {
  const before = loadProfile(store);
  const { outcome, keyManager, previous } = await refreshDelegation(api, store, before, now);
  const session = obj(await api.request('GET', '/v1/session'), 'session');
  if (str(session, 'deviceId') !== before.deviceId)
    throw new ClientError('SERVER_RESPONSE_INVALID', 'server answer: the session names another device');
  const retentionClass = sessionRetentionClass(session);
  const profile: DeviceProfile = {
    ...before,
    keyManager,
    ...(previous === undefined ? {} : { previousKeyManagers: previous }),
    retentionClass,
  };
  if (outcome === 'renewed' || outcome === 'rotated' || retentionClass !== before.retentionClass)
    saveProfile(store, profile);
  // A device of an org that does not archive seals nothing: it reads no bucket or index keys.
  const wasRefused = new Set(refusedBuckets(store).map((r) => r.bucketId));
  const buckets = profile.captureRequired ? await refreshBuckets(api, store, profile) : NO_BUCKETS;
  for (const r of buckets.refused)
    if (!wasRefused.has(r.bucketId))
      warn(store, now, `bucket key ${r.bucketId} refused (${r.reason}); no record is sealed to it`);
  const indexKeys = profile.captureRequired ? await refreshIndexKeys(api, store, profile, identityKey) : 0;
  store.putJson('profile', DUE_KEY, now + ARCHIVE_MATERIAL_REFRESH_MS);
  return {
    ...buckets,
    delegation: outcome,
    retentionClass,
    retentionChanged: retentionClass !== before.retentionClass,
    indexKeys,
    profile,
  };
}

/** Whether a send should refresh first (none since ARCHIVE_MATERIAL_REFRESH_MS). */
export function archiveMaterialDue(store: LocalStore, now: number): boolean {
  return now >= (store.getJson<number>('profile', DUE_KEY) ?? 0);
}
