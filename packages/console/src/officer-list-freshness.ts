/**
 * Freshness of the officer list (docs/officers.md §5): the server serves the org's last
 * signed officer list, and officers adopt it (officer-list-refresh.ts); a server that kept
 * serving an older list would keep officers on it. Every change is an `officers.change` act in
 * the org's log whose document names the list's SHA-256 (`list-sha256=…`). So before adopting,
 * an officer command fetches the latest such act with its inclusion proof
 * (`GET /v1/orgs/:orgId/officers/latest-change`: one request, no log replay), checks the proof
 * against a checkpoint signed by the pinned log key and extending the last one this profile
 * verified (audit/log-state.ts), and requires the act to name the list served.
 *
 * Invariants: a served list the log does not name last stops the command (SERVER_REFUSED,
 * nothing adopted); so does a log that names a list while none is served. Limit: this proves
 * the act shown is in the log, not that no later act exists — a server that hides both the
 * newer list and its act is caught by a witness reading the whole log (`custos verify log`)
 * or by `custos console audit`, not here.
 */
import { createHash } from 'node:crypto';
import { pinnedLogOf } from './audit/log-pin.js';
import { trustCheckpoint } from './audit/log-state.js';
import { verifyListedAct } from './audit/officer-audit.js';
import { ConsoleError } from './console-error.js';
import type { OfficerSession } from './officer-session.js';
/** Attempts while the latest change is not yet in a signed checkpoint (about a second after it). */
const PENDING_ATTEMPTS = 30;
/** Wait between those attempts. */
const PENDING_WAIT_MS = 500;

type Json = Record<string, unknown>;

/** What the check found: the log index of the act naming the served list, or null (no change ever). */
export interface OfficerListInLog {
  readonly logIndex: number | null;
}

function refuse(why: string): never {
  throw new ConsoleError('SERVER_REFUSED', `${why}: stop and tell the other officers`);
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Checks that the org's log names `served` (the signed officer list bytes the server serves,
 * or null when it serves none) in its latest `officers.change` act. Throws SERVER_REFUSED when
 * the log names another list (the server withholds the newer one), LOG_* when the log's
 * checkpoint or proof does not verify or is inconsistent with the one the profile saw.
 */
export async function checkOfficerListInLog(
  s: OfficerSession,
  served: Uint8Array | null,
  options: { readonly sleep?: (ms: number) => Promise<void> } = {},
): Promise<OfficerListInLog> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let r: Json = {};
  for (let i = 0; i < PENDING_ATTEMPTS; i++) {
    r = await s.call('GET', `/v1/orgs/${s.orgId}/officers/latest-change`);
    if (r.pending !== true) break;
    await sleep(PENDING_WAIT_MS);
  }
  if (r.pending === true)
    refuse(
      "the org's log does not show the last officer change in a signed checkpoint yet; run the command again in a minute, and if this persists",
    );
  // No change ever: nothing in the log to hold the served list against (no list may be served).
  if (r.act === null) {
    if (served !== null)
      refuse("the server serves an officer list that no officers-change act in the org's log names");
    return { logIndex: null };
  }
  const cpOut = r.checkpoint as { note?: unknown } | null | undefined;
  if (typeof cpOut?.note !== 'string')
    throw new ConsoleError('SERVER_REFUSED', 'GET …/officers/latest-change: the answer lacks its checkpoint');
  const log = await pinnedLogOf(s);
  const { checkpoint: cp } = await trustCheckpoint(s, log, cpOut.note, 'the officer-change proof');
  const a = r.act as Json | undefined;
  if (typeof a !== 'object' || a === null || !Number.isSafeInteger(a.index))
    throw new ConsoleError('SERVER_REFUSED', 'GET …/officers/latest-change: the act lacks its index');
  const index = a.index as number;
  const { document } = verifyListedAct(s.orgId, a, index, cp);
  if (document === null || document.kind !== 'officers.change')
    refuse(`the log entry at index ${index} the server shows as the last officer change is not one`);
  const named = /(?:^| )list-sha256=([0-9a-f]{64})(?: |$)/.exec(document.det ?? '')?.[1];
  if (named === undefined) refuse(`the officer change at log index ${index} names no list hash`);
  if (served === null || sha256(served) !== named)
    refuse(
      `the org's log records an officer change at log index ${index} (${new Date(document.at).toISOString()}) ` +
        `naming officer list sha256 ${named.slice(0, 16)}…, but the server serves ` +
        `${served === null ? 'no officer list' : `list sha256 ${sha256(served).slice(0, 16)}…`}: ` +
        'the server is withholding the current officer list',
    );
  return { logIndex: index };
}
