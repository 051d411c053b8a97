/**
 * The identity keys devices enrolled with, as the org's log commits to them
 * (docs/search.md §6). The server serves a device's identity key with each hit; the
 * `device.register` act document, whose SHA-256 the log's `device-enrolled` entry commits
 * to, carries `identity=<base64url SHA-256 of the key>` in its detail. A checker reads the
 * org's act listing (each act's inclusion proof checked against a checkpoint signed by the
 * pinned log key, each document against its entry) once per search or export run, and only
 * again when a device it has not seen turns up.
 */
import { createHash } from 'node:crypto';
import type { Checkpoint } from '@custos/core';
import { auditAnswerLimit } from '@custos/client/answer-limits';
import type { PinnedLog } from '../audit/log-pin.js';
import { trustCheckpoint } from '../audit/log-state.js';
import { NO_PROGRESS, verifyListedAct } from '../audit/officer-audit.js';
import { ConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';

/** The marker before the key hash in a `device.register` act's detail. */
export const IDENTITY_COMMITMENT_MARK = 'identity=';
/** Acts read per request. */
const ENROLMENT_PAGE = 500;

/** What a `device.register` detail says: the user, and the committed key hash (null: enrolled before keys were logged). */
export interface EnrolmentDetail {
  readonly userId: string;
  readonly identityHash: string | null;
}

/**
 * How a served identity key compares with the log: `match`; `mismatch`; `legacy` (the
 * enrolment predates key commitments); `absent` (no enrolment act for the device is listed).
 */
export type EnrolmentKeyStatus = 'match' | 'mismatch' | 'legacy' | 'absent';

/** Compares a device's served identity key (serialized bytes) with the one its enrolment committed to. */
export interface EnrolmentKeyCheck {
  (deviceId: string, identityKey: Uint8Array): Promise<EnrolmentKeyStatus>;
  /**
   * The log index of `deviceId`'s `device-revoked` entry when it comes before `logIndex` (a
   * record logged there was handed in after the revocation: a claim of a device no longer
   * trusted), else null. The listing is read on until its checkpoint covers `logIndex`.
   */
  revokedBefore?: (deviceId: string, logIndex: number) => Promise<number | null>;
}

/** base64url SHA-256 of a serialized identity public key, as enrolment details commit to it. */
export function identityKeyHash(identityKey: Uint8Array): string {
  return createHash('sha256').update(identityKey).digest('base64url');
}

/** Parses a `device.register` detail: `<userId>` or `<userId> identity=<hash>`. */
export function parseEnrolmentDetail(det: string): EnrolmentDetail {
  const [userId, commitment, ...rest] = det.split(' ');
  if (userId === undefined || userId === '' || rest.length > 0)
    throw new ConsoleError('LOG_INVALID', 'a device enrolment act has a malformed detail');
  if (commitment === undefined) return { userId, identityHash: null };
  const hash = commitment.startsWith(IDENTITY_COMMITMENT_MARK)
    ? commitment.slice(IDENTITY_COMMITMENT_MARK.length)
    : '';
  if (!/^[A-Za-z0-9_-]{43}$/.test(hash))
    throw new ConsoleError('LOG_INVALID', 'a device enrolment act has a malformed identity commitment');
  return { userId, identityHash: hash };
}

/**
 * A checker reading `session`'s org's verified act listing; keep one per search or export run.
 * With `revocations`, it also tells records handed in after their device's revocation
 * (`revokedBefore`: search and review mark them; exports and completeness do not ask).
 */
export function enrolmentKeyChecker(
  session: OfficerSession,
  log: PinnedLog,
  options: { readonly revocations?: boolean } = {},
): EnrolmentKeyCheck {
  const committed = new Map<string, string | null>();
  // Each device's first `device-revoked` entry (a device is revoked once).
  const revoked = new Map<string, number>();
  const checkpoints = new Map<string, Checkpoint>();
  let lastIndex = -1;
  // The tree size of the checkpoint of the last listing read to its end. The listing holds the
  // acts the server's index pass reached, which runs just behind the checkpoints, in log order
  // with the records' tokens: every act before a record that search or review finds is read.
  // (A record read by device, through the records route, may be newer than the index.)
  let readThrough = 0;
  let reading: Promise<void> | null = null;

  // Reads the listing from where the previous read stopped to its end.
  const readOn = async (): Promise<void> => {
    let after = lastIndex < 0 ? null : String(lastIndex);
    for (;;) {
      const qs = [`limit=${ENROLMENT_PAGE}`, ...(after === null ? [] : [`after=${after}`])];
      const r = await session.call('GET', `/v1/orgs/${session.orgId}/audit?${qs.join('&')}`, undefined, {
        maxAnswerBytes: auditAnswerLimit(ENROLMENT_PAGE),
      });
      const note = (r.checkpoint as { note?: unknown } | undefined)?.note;
      if (
        !Array.isArray(r.acts) ||
        typeof note !== 'string' ||
        (r.next !== null && typeof r.next !== 'string')
      )
        throw new ConsoleError('SERVER_REFUSED', 'the audit listing lacks acts, checkpoint or next');
      let cp = checkpoints.get(note);
      if (cp === undefined) {
        cp = (await trustCheckpoint(session, log, note, 'the audit listing')).checkpoint;
        checkpoints.set(note, cp);
      }
      for (const a of r.acts as Record<string, unknown>[]) {
        if (!Number.isSafeInteger(a.index))
          throw new ConsoleError('SERVER_REFUSED', 'the audit listing: an act lacks index or proof');
        const index = a.index as number;
        if (index <= lastIndex)
          throw new ConsoleError('LOG_INVALID', `the audit listing is out of order at log index ${index}`);
        lastIndex = index;
        const { entry, document } = verifyListedAct(session.orgId, a, index, cp);
        if (entry.type === 'key-event' && entry.kind === 'device-revoked' && !revoked.has(entry.subject))
          revoked.set(entry.subject, index);
        if (entry.type !== 'key-event' || entry.kind !== 'device-enrolled') continue;
        // Without its document the enrolment proves nothing about the key: left out, so `absent`.
        if (document === null) continue;
        committed.set(entry.subject, parseEnrolmentDetail(document.det ?? '').identityHash);
      }
      if (r.next === null) {
        readThrough = Math.max(readThrough, cp.treeSize);
        return;
      }
      // Acts strictly ascend across pages, so a page with none would be asked for again and again.
      if (r.acts.length === 0) throw new ConsoleError('SERVER_REFUSED', NO_PROGRESS);
      after = r.next;
    }
  };
  const read = async (): Promise<void> => {
    reading ??= readOn().finally(() => {
      reading = null;
    });
    await reading;
  };

  const check: EnrolmentKeyCheck = async (deviceId, identityKey) => {
    if (!committed.has(deviceId)) await read();
    if (!committed.has(deviceId)) return 'absent';
    const hash = committed.get(deviceId)!;
    if (hash === null) return 'legacy';
    return hash === identityKeyHash(identityKey) ? 'match' : 'mismatch';
  };
  if (options.revocations !== true) return check;
  check.revokedBefore = async (deviceId, logIndex) => {
    // A record at `logIndex` is in a checkpoint the listing has not reached: its revocation
    // may be among the acts since. The server signs both with its latest checkpoint, so one
    // read on reaches it; a listing that still stops short hides what the mark needs.
    if (readThrough <= logIndex) await read();
    if (readThrough <= logIndex)
      throw new ConsoleError(
        'SERVER_REFUSED',
        `the audit listing's checkpoint (tree size ${readThrough}) does not cover the record at log index ${logIndex}`,
      );
    const at = revoked.get(deviceId);
    return at !== undefined && at < logIndex ? at : null;
  };
  return check;
}
