/**
 * Enrolment with an admin-issued code: create the profile's encrypted store, generate the
 * identity key, registration id and prekeys, register them, then — before the profile is
 * usable — pin the org (fingerprint from the code), verify the key-manager delegation and
 * every bucket key, and pin the log's verifier key. A server that substitutes the org key
 * makes enrolment fail with ORG_KEY_MISMATCH and leaves a profile that refuses to open.
 */
import { randomInt } from 'node:crypto';
import { openArchivePolicy, type ArchivePolicyName } from '@custos/core';
import { IdentityKeyPair } from '@signalapp/libsignal-client';
import { ClientError, isServerRefusal } from '../errors.js';
import { refreshBuckets, refreshIndexKeys, type BucketRefresh } from '../archive/bucket-keys.js';
import { loadPinnedLog, saveProfile, savePinnedLog, type DeviceProfile } from '../profile.js';
import { noteOwnEnrolment } from '../devices/own-device-watch.js';
import { LocalStore } from '../store/local-store.js';
import { saveLocalIdentity, signalStores } from '../store/signal-stores.js';
import type { StorageKeyOptions, StorageKeyProtection } from '../store/storage-key.js';
import { ApiClient, type ApiClientOptions } from '../transport/api-client.js';
import { bytes, int, obj, str } from '../transport/response-checks.js';
import {
  checkPinnedOrgKey,
  parseEnrolmentCode,
  RETENTION_CLASSES,
  verifyDelegation,
  type RetentionClass,
} from './org-keys.js';
import { DEFAULT_KYBER_PREKEYS, DEFAULT_ONE_TIME_PREKEYS, generatePrekeys } from './prekeys.js';

/** The bucket refresh of a device whose org does not archive: it reads no buckets. */
export const NO_BUCKETS: BucketRefresh = { accepted: [], refused: [], retired: [] };

/** libsignal registration ids are 14-bit, and the server takes 1..16380. */
const MAX_REGISTRATION_ID = 16380;

/** Enrolment options. */
export interface EnrolOptions extends StorageKeyOptions {
  readonly serverUrl: string;
  readonly code: string;
  readonly protection: StorageKeyProtection;
  readonly api?: ApiClientOptions;
  readonly clock?: () => number;
}

/** What enrolment produced. */
export interface Enrolled {
  readonly store: LocalStore;
  readonly profile: DeviceProfile;
  readonly api: ApiClient;
  readonly buckets: BucketRefresh;
}

/**
 * The org's archive policy as its statement, signed with the org signing key, states it
 * (core/org-docs/archive-policy.ts). No statement means `required` (orgs created before
 * policies, or without one): a server can switch a device's capture off only by serving a
 * `none` statement that verifies with the pinned key, for this org and its name.
 */
export function servedArchivePolicy(
  org: Record<string, unknown>,
  orgId: string,
  name: string,
  signingKey: Uint8Array,
): ArchivePolicyName {
  if (org.archivePolicyStatement === undefined) return 'required';
  const bad = (why: string, cause?: unknown) =>
    new ClientError(
      'ARCHIVE_POLICY_INVALID',
      `the organisation's archive policy statement ${why}: refusing it (a server substituting the policy?)`,
      cause === undefined ? undefined : { cause },
    );
  let s;
  try {
    s = openArchivePolicy(bytes(org, 'archivePolicyStatement'), signingKey);
  } catch (e) {
    throw bad(
      `does not verify with the pinned org signing key (${e instanceof Error ? e.message : 'malformed'})`,
      e,
    );
  }
  if (s.org !== orgId) throw bad('names another organisation');
  if (s.name !== name) throw bad('names the organisation differently from the server');
  return s.policy;
}

/** Checks the org's public material as the server sent it against the pinned fingerprint. */
export function verifyOrgMaterial(org: Record<string, unknown>, orgId: string, fingerprint: string) {
  if (str(org, 'orgId') !== orgId)
    throw new ClientError('ORG_KEY_MISMATCH', 'the server answered for another organisation');
  const signingKey = bytes(org, 'signingPublicKey', 32);
  checkPinnedOrgKey(signingKey, fingerprint);
  const km = obj(org.keyManager, 'keyManager');
  const keyManager = verifyDelegation(bytes(km, 'delegation'), signingKey);
  const name = str(org, 'name');
  const archivePolicy = servedArchivePolicy(org, orgId, name, signingKey);
  return { name, signingKey, keyManager, archivePolicy };
}

/**
 * Pins the org log's origin and verifier key (trust on first use; a later change is
 * LOG_KEY_CHANGED). False when the log has no checkpoint yet (pinned on first proof check).
 */
export async function pinLog(api: ApiClient, store: LocalStore, orgId: string): Promise<boolean> {
  let log;
  try {
    log = obj(await api.request('GET', `/v1/orgs/${orgId}/log`), 'log');
  } catch (e) {
    if (isServerRefusal(e, 'LOG_NOT_FOUND')) return false;
    throw e;
  }
  const pinned = { origin: str(log, 'origin'), verifierKey: str(log, 'verifierKey') };
  const known = loadPinnedLog(store);
  if (known !== undefined && (known.origin !== pinned.origin || known.verifierKey !== pinned.verifierKey))
    throw new ClientError(
      'LOG_KEY_CHANGED',
      'the server presents another log key than the one this device pinned',
    );
  if (known === undefined) savePinnedLog(store, pinned);
  return true;
}

/**
 * The retention class `GET /v1/session` names (the server always sends it). A missing one is
 * malformed, not a default: a guessed class would seal every record to the wrong buckets.
 */
export function sessionRetentionClass(session: Record<string, unknown>): RetentionClass {
  const v = session.retentionClass;
  if (typeof v !== 'string' || !(RETENTION_CLASSES as readonly string[]).includes(v))
    throw new ClientError('SERVER_RESPONSE_INVALID', 'server answer: retentionClass is missing or malformed');
  return v as RetentionClass;
}

/** Enrols a new device (with an admin's enrolment code or a link code) into the profile folder `dir`. */
export async function enrolDevice(dir: string, o: EnrolOptions): Promise<Enrolled> {
  const code = parseEnrolmentCode(o.code);
  const clock = o.clock ?? Date.now;
  const api = new ApiClient(o.serverUrl, { clock, ...o.api });
  const store = LocalStore.create(dir, o.protection, o);
  try {
    const identity = IdentityKeyPair.generate();
    const registrationId = randomInt(1, MAX_REGISTRATION_ID + 1);
    saveLocalIdentity(store, identity, registrationId);
    const stores = signalStores(store, clock);
    const prekeys = generatePrekeys(store, stores, identity, {
      oneTime: DEFAULT_ONE_TIME_PREKEYS,
      kyber: DEFAULT_KYBER_PREKEYS,
      rotateSigned: true,
    });
    const res = obj(
      await api.request('POST', `/v1/orgs/${code.orgId}/devices`, {
        auth: false,
        body: {
          enrolmentCode: code.code,
          identityKey: Buffer.from(identity.publicKey.serialize()).toString('base64url'),
          // The server refuses another origin before spending the code (it could never log in).
          origin: api.origin,
          registrationId,
          ...prekeys,
        },
      }),
      'registration',
    );
    const org = verifyOrgMaterial(obj(res.org, 'org'), code.orgId, code.fingerprint);
    const userId = str(res, 'userId');
    const deviceId = str(res, 'deviceId');
    api.setCredentials({ orgId: code.orgId, deviceId, identityKey: identity.privateKey });
    // The org as served to an authenticated device must be the same pinned org, same policy.
    const again = verifyOrgMaterial(
      obj(await api.request('GET', `/v1/orgs/${code.orgId}`), 'org'),
      code.orgId,
      code.fingerprint,
    );
    if (again.archivePolicy !== org.archivePolicy)
      throw new ClientError('ARCHIVE_POLICY_INVALID', 'the server served two different archive policies');
    const session = obj(await api.request('GET', '/v1/session'), 'session');
    if (str(session, 'userId') !== userId || str(session, 'deviceId') !== deviceId)
      throw new ClientError('SERVER_RESPONSE_INVALID', 'server answer: the session names another device');
    const profile: DeviceProfile = {
      serverUrl: api.baseUrl,
      orgId: code.orgId,
      orgName: org.name,
      userId,
      deviceId,
      deviceNumber: int(res, 'deviceNumber'),
      pinnedFingerprint: code.fingerprint,
      orgSigningKey: org.signingKey,
      keyManager: org.keyManager,
      // The server keeps the user's class (set by an admin when inviting).
      retentionClass: sessionRetentionClass(session),
      // Capture is on iff the org's signed policy requires it; the user cannot switch it.
      captureRequired: org.archivePolicy === 'required',
      enrolledAt: clock(),
    };
    saveProfile(store, profile);
    // Which device linked this one, if any: its first own-device read depends on it.
    // Absent from an older server: the device then reads its list as an upgraded profile does.
    if (res.linkedFrom !== undefined)
      noteOwnEnrolment(store, res.linkedFrom === null ? null : str(res, 'linkedFrom'));
    await pinLog(api, store, profile.orgId);
    if (!profile.captureRequired) return { store, profile, api, buckets: NO_BUCKETS };
    const buckets = await refreshBuckets(api, store, profile);
    await refreshIndexKeys(api, store, profile, identity.privateKey);
    return { store, profile, api, buckets };
  } catch (e) {
    store.close();
    throw e;
  }
}
