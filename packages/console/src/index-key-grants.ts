/**
 * Delivering blind-index keys to devices (`custos console grant-index-keys`; docs/officers.md
 * §4). A device attaches search tokens to its archive records only when it holds its
 * bucket's index key, sealed to its identity key. For every registered bucket that is
 * current or future, this lists the org's active devices (officer route), and for each
 * device whose user's retention class is the bucket's and that holds no key yet, opens the
 * officer's wrap of the bucket, seals the index key to the device and uploads it.
 *
 * An index key is sealed only to an identity key the org's log commits to: each device's
 * served key is checked against its `device-enrolled` act (search/enrolment-keys.ts, the
 * check search and export run). A device whose key differs, whose enrolment predates key
 * commitments, or whose enrolment is not in the log is refused, never sealed to — a server
 * that listed a key of its own would otherwise receive the bucket's index key.
 *
 * The sealing format belongs to the client (`sealIndexKeyForDevice`, client
 * archive/index-key-envelope.ts), so the caller passes it in: one implementation of the
 * format, and the console keeps depending on core only.
 */
import { pinnedLogOf } from './audit/log-pin.js';
import { unwrapIndexKeyBytes } from './bucket-key-wrap.js';
import { bucketState, findOfficerWrap } from './bucket-inventory.js';
import { ConsoleError } from './console-error.js';
import type { OfficerSession } from './officer-session.js';
import { fromB64u } from './profile-files.js';
import { b64u } from './ceremony-api.js';
import {
  enrolmentKeyChecker,
  type EnrolmentKeyCheck,
  type EnrolmentKeyStatus,
} from './search/enrolment-keys.js';

/** Seals a 32-byte index key to a device's 33-byte identity key (client `sealIndexKeyForDevice`). */
export type SealIndexKey = (
  deviceIdentityKey: Uint8Array,
  orgId: string,
  bucketId: string,
  deviceId: string,
  indexKey: Uint8Array,
) => Uint8Array;

/** One delivered index key. */
export interface IndexKeyGrant {
  readonly bucketId: string;
  readonly deviceId: string;
  readonly userId: string;
}

/** A device refused its index key: its served identity key is not (provably) the one it enrolled with. */
export interface RefusedIndexKey {
  readonly bucketId: string;
  readonly deviceId: string;
  readonly userId: string;
  /** `mismatch`: another key than the log's; `legacy`: enrolled before commitments; `absent`: no enrolment act in the log. */
  readonly status: Exclude<EnrolmentKeyStatus, 'match'>;
}

/** What a run did. */
export interface IndexKeyGrantResult {
  /** Buckets looked at (current and future). */
  readonly buckets: readonly string[];
  readonly granted: readonly IndexKeyGrant[];
  /** Devices of the bucket's class that already held the key. */
  readonly alreadySealed: number;
  /** Buckets this officer holds no wrap of (another officer must run the command). */
  readonly noWrap: readonly string[];
  /** Devices not sealed to because their identity key does not check against the log. */
  readonly refused: readonly RefusedIndexKey[];
}

/** Largest recipients page asked for. */
const RECIPIENT_PAGE = 200;
/** Most pages read per bucket. */
const MAX_RECIPIENT_PAGES = 10_000;
/**
 * Checks of a device whose enrolment is not (yet) in the log: the act is listed about a
 * second after its checkpoint, so a device enrolled a moment ago is waited for.
 */
const ABSENT_ATTEMPTS = 20;
/** Pause between those checks. */
const ABSENT_PAUSE_MS = 500;

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `check` for one device, waiting out the log's listing lag when its enrolment is not listed yet. */
async function enrolmentStatus(
  check: EnrolmentKeyCheck,
  deviceId: string,
  identityKey: Uint8Array,
): Promise<EnrolmentKeyStatus> {
  let status = await check(deviceId, identityKey);
  for (let i = 1; status === 'absent' && i < ABSENT_ATTEMPTS; i++) {
    await pause(ABSENT_PAUSE_MS);
    status = await check(deviceId, identityKey);
  }
  return status;
}

/** What each refusal means, for the progress line. */
const REFUSAL_TEXT: Readonly<Record<RefusedIndexKey['status'], string>> = {
  mismatch:
    'the server serves another identity key than the one its enrolment committed to in the log — do not trust the server; tell the other officers',
  legacy: 'it enrolled before the log committed to identity keys, so its key cannot be checked — re-enrol it',
  absent: 'no enrolment act for it is in the log, so its identity key cannot be checked',
};

interface Recipient {
  deviceId: string;
  userId: string;
  retentionClass: string;
  identityKey: Uint8Array;
  sealed: boolean;
}

async function recipients(session: OfficerSession, bucketId: string): Promise<Recipient[]> {
  const out: Recipient[] = [];
  let after: string | null = null;
  for (let page = 0; page < MAX_RECIPIENT_PAGES; page++) {
    const q: string = `?limit=${RECIPIENT_PAGE}${after === null ? '' : `&after=${encodeURIComponent(after)}`}`;
    const r = await session.call(
      'GET',
      `/v1/orgs/${session.orgId}/buckets/${encodeURIComponent(bucketId)}/index-keys${q}`,
    );
    for (const x of Array.isArray(r.recipients) ? (r.recipients as Record<string, unknown>[]) : []) {
      if (
        typeof x.deviceId !== 'string' ||
        typeof x.identityKey !== 'string' ||
        typeof x.userId !== 'string' ||
        typeof x.retentionClass !== 'string'
      ) {
        throw new ConsoleError('SERVER_REFUSED', 'index-key recipients: the answer lacks required fields');
      }
      out.push({
        deviceId: x.deviceId,
        userId: x.userId,
        retentionClass: x.retentionClass,
        identityKey: fromB64u(x.identityKey),
        sealed: x.sealed === true,
      });
    }
    after = typeof r.next === 'string' ? r.next : null;
    if (after === null) break;
  }
  return out;
}

/** Seals and uploads every missing index key of current and future buckets. */
export async function grantIndexKeys(
  session: OfficerSession,
  seal: SealIndexKey,
  now: number,
  progress: (message: string) => void = () => undefined,
): Promise<IndexKeyGrantResult> {
  const buckets = (await session.serverBuckets()).filter((b) => bucketState(b, now) !== 'past');
  const granted: IndexKeyGrant[] = [];
  const noWrap: string[] = [];
  const refused: RefusedIndexKey[] = [];
  let alreadySealed = 0;
  let check: EnrolmentKeyCheck | undefined;
  // Per device and served key: a device is listed once per bucket, checked (and waited for) once.
  const checked = new Map<string, EnrolmentKeyStatus>();
  const statusOf = async (r: Recipient): Promise<EnrolmentKeyStatus> => {
    const k = `${r.deviceId} ${b64u(r.identityKey)}`;
    let status = checked.get(k);
    if (status === undefined) {
      check ??= enrolmentKeyChecker(session, await pinnedLogOf(session));
      status = await enrolmentStatus(check, r.deviceId, r.identityKey);
      checked.set(k, status);
    }
    return status;
  };
  for (const b of buckets) {
    const want = (await recipients(session, b.bucket)).filter((r) => r.retentionClass === b.retentionClass);
    alreadySealed += want.filter((r) => r.sealed).length;
    const todo: Recipient[] = [];
    for (const r of want.filter((x) => !x.sealed)) {
      const status = await statusOf(r);
      if (status === 'match') todo.push(r);
      else {
        refused.push({ bucketId: b.bucket, deviceId: r.deviceId, userId: r.userId, status });
        progress(`bucket ${b.bucket}: NOT sealed to device ${r.deviceId}: ${REFUSAL_TEXT[status]}`);
      }
    }
    if (todo.length === 0) continue;
    const wrap = await findOfficerWrap(session, b.bucket);
    if (wrap.blob === undefined) {
      noWrap.push(b.bucket);
      progress(
        `bucket ${b.bucket}: ${todo.length} device(s) need its index key, but this officer holds no wrap of it`,
      );
      continue;
    }
    const { indexKey } = await unwrapIndexKeyBytes(wrap.blob, session.officer.keys.hpkePrivateKey);
    try {
      for (const r of todo) {
        const blob = seal(r.identityKey, session.orgId, b.bucket, r.deviceId, indexKey);
        await session.call(
          'PUT',
          `/v1/orgs/${session.orgId}/buckets/${encodeURIComponent(b.bucket)}/index-keys/${r.deviceId}`,
          { blob: b64u(blob) },
        );
        granted.push({ bucketId: b.bucket, deviceId: r.deviceId, userId: r.userId });
        progress(`bucket ${b.bucket}: index key sealed to device ${r.deviceId}`);
      }
    } finally {
      // MUST NOT outlive the bucket's loop: raw index key bytes.
      indexKey.fill(0);
    }
  }
  return { buckets: buckets.map((b) => b.bucket), granted, alreadySealed, noWrap, refused };
}
