/**
 * The org's log origin and verifier key as this officer profile pinned them (trust on first
 * use, the same file `custos console search` pins in), and opening a checkpoint note
 * against them. Commands trust a checkpoint through log-state.ts, which also checks it
 * extends the last one the profile verified; a signature alone does not rule out a
 * rewritten log signed with the same key.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint, type Checkpoint } from '@custos/core';
import { ConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';

/** The profile file holding the pinned log origin and key (named for search, which pinned first). */
export const SEARCH_LOG_PIN_FILE = 'search-log-key.json';

/** The pinned log: origin and signed-note verifier key. */
export interface PinnedLog {
  readonly origin: string;
  readonly verifierKey: string;
}

/** Reads the server's log key, pins it on first use, and refuses another one later (LOG_KEY_MISMATCH). */
export async function pinnedLogOf(session: OfficerSession): Promise<PinnedLog> {
  const r = await session.call('GET', `/v1/orgs/${session.orgId}/log`);
  if (typeof r.origin !== 'string' || typeof r.verifierKey !== 'string') {
    throw new ConsoleError('SERVER_REFUSED', 'GET …/log: the answer lacks origin or verifierKey');
  }
  const served = { origin: r.origin, verifierKey: r.verifierKey };
  const file = join(session.dir, SEARCH_LOG_PIN_FILE);
  let pinned: { origin?: unknown; verifierKey?: unknown } | undefined;
  try {
    pinned = JSON.parse(readFileSync(file, 'utf8')) as typeof pinned;
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ENOENT') {
      throw new ConsoleError('PROFILE_INVALID', `${file} is not readable JSON`, { cause: e });
    }
  }
  if (pinned === undefined) {
    writeFileSync(file, `${JSON.stringify(served, null, 2)}\n`, { mode: 0o600 });
    return served;
  }
  if (pinned.origin !== served.origin || pinned.verifierKey !== served.verifierKey) {
    throw new ConsoleError(
      'LOG_KEY_MISMATCH',
      `the server presents another log key or origin than this profile pinned in ${SEARCH_LOG_PIN_FILE}: stop and compare with the other officers`,
    );
  }
  return served;
}

/** Opens a checkpoint note with the pinned key; LOG_INVALID when it does not verify. Callers trust via log-state.ts. */
export function openPinnedCheckpoint(note: string, log: PinnedLog, what: string): Checkpoint {
  try {
    return openCheckpoint(note, [log.verifierKey], log.origin).checkpoint;
  } catch (e) {
    throw new ConsoleError('LOG_INVALID', `${what}: the checkpoint does not verify with the pinned log key`, {
      cause: e,
    });
  }
}
