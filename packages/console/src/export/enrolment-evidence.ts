/**
 * Fetching the enrolment evidence an export carries (device-enrolments.ts): the org's
 * verified act listing (`GET …/audit`, each act's inclusion proof checked against a
 * checkpoint signed by the pinned log key, each document against its entry, as the online
 * enrolment check reads it), keeping the `device-enrolled` act of each exported device
 * verbatim with the checkpoint note its proof leads to.
 */
import type { Checkpoint } from '@custos/core';
import { auditAnswerLimit } from '@custos/client/answer-limits';
import type { PinnedLog } from '../audit/log-pin.js';
import { trustCheckpoint } from '../audit/log-state.js';
import { verifyListedAct } from '../audit/officer-audit.js';
import { ConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';
import type { DeviceEnrolmentProof } from './device-enrolments.js';

/** Acts read per request. */
const LISTING_PAGE = 500;
/** Pages read before giving up on a listing that never ends. */
const MAX_LISTING_PAGES = 100_000;

/**
 * The `device-enrolled` acts (with documents and proofs) of `devices` in `session`'s org.
 * A device without one is left out: building the export then fails naming it.
 */
export async function fetchEnrolmentEvidence(
  session: OfficerSession,
  log: PinnedLog,
  devices: ReadonlySet<string>,
): Promise<DeviceEnrolmentProof[]> {
  const found = new Map<string, DeviceEnrolmentProof>();
  const checkpoints = new Map<string, Checkpoint>();
  let after: string | null = null;
  let last = -1;
  for (let page = 0; page < MAX_LISTING_PAGES; page++) {
    const qs = [`limit=${LISTING_PAGE}`, ...(after === null ? [] : [`after=${after}`])];
    const r = await session.call('GET', `/v1/orgs/${session.orgId}/audit?${qs.join('&')}`, undefined, {
      maxAnswerBytes: auditAnswerLimit(LISTING_PAGE),
    });
    const note = (r.checkpoint as { note?: unknown } | undefined)?.note;
    if (!Array.isArray(r.acts) || typeof note !== 'string' || (r.next !== null && typeof r.next !== 'string'))
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
      if (index <= last)
        throw new ConsoleError('LOG_INVALID', `the audit listing is out of order at log index ${index}`);
      last = index;
      const { entry, document } = verifyListedAct(session.orgId, a, index, cp);
      if (entry.type !== 'key-event' || entry.kind !== 'device-enrolled' || document === null) continue;
      if (!devices.has(entry.subject) || found.has(entry.subject)) continue;
      found.set(entry.subject, {
        org: session.orgId,
        device: entry.subject,
        logIndex: index,
        entry: a.entry as string,
        document: a.document as string,
        proof: a.proof as string[],
        checkpoint: note,
      });
    }
    if (r.next === null || found.size === devices.size) return [...found.values()];
    after = r.next;
  }
  throw new ConsoleError('SERVER_REFUSED', `the audit listing did not end after ${MAX_LISTING_PAGES} pages`);
}
