/**
 * The org's whole log, read through the public tile routes and verified: the signed
 * checkpoint against the log key this profile pinned (search's pin file, trust on first
 * use), and every entry against it — the Merkle root of all entries, recomputed here, must
 * equal the checkpoint's root. So every entry the completeness check reasons about is in
 * the log everyone else sees, and none was left out.
 */
import {
  appendEntries,
  decodeEntryBundle,
  decodeLogEntry,
  EMPTY_TREE_STATE,
  entryBundlePath,
  rootOf,
  TILE_WIDTH,
  type LogEntry,
  type TreeState,
} from '@custos/core';
import { ENTRY_BUNDLE_ANSWER_LIMIT_BYTES } from '@custos/client/answer-limits';
import { AnswerTooLargeError, httpFetch, type HttpResponse } from '@custos/client/http-fetch';
import { RATE_LIMIT_RETRIES } from '../ceremony-api.js';
import { ConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';
import { pinnedLogOf, type PinnedLog } from '../audit/log-pin.js';
import { trustCheckpoint } from '../audit/log-state.js';
import { sameRoot } from '../witness/log-consistency.js';

/** Wait for one bundle before calling the server unreachable. */
const BUNDLE_TIMEOUT_MS = 30_000;
/** Longest wait honoured for one Retry-After, in seconds. */
const MAX_RETRY_AFTER_SECONDS = 30;

/** One entry with its index. */
export interface IndexedEntry {
  readonly index: number;
  readonly entry: LogEntry;
}

/** Every entry of the log up to a verified checkpoint. */
export interface VerifiedLog {
  readonly origin: string;
  readonly verifierKey: string;
  readonly treeSize: number;
  /** The signed checkpoint note the entries were verified against. */
  readonly checkpoint: string;
  readonly entries: readonly IndexedEntry[];
}

/** Fetches entry bundle `index` (of `width` entries) through the public tile route, honouring Retry-After. */
export async function fetchBundle(
  serverUrl: string,
  orgId: string,
  index: number,
  width: number,
): Promise<Uint8Array> {
  const path = `/v1/orgs/${encodeURIComponent(orgId)}/log/${entryBundlePath({ index, width })}`;
  for (let attempt = 0; ; attempt++) {
    let res: HttpResponse;
    try {
      res = await httpFetch(`${serverUrl.replace(/\/+$/, '')}${path}`, {
        signal: AbortSignal.timeout(BUNDLE_TIMEOUT_MS),
        maxAnswerBytes: ENTRY_BUNDLE_ANSWER_LIMIT_BYTES,
      });
    } catch (e) {
      if (e instanceof AnswerTooLargeError) throw bundleTooLarge(path, e);
      throw new ConsoleError('SERVER_UNREACHABLE', `cannot reach the server at ${serverUrl}`, { cause: e });
    }
    // A long log outruns the per-address limit of the public routes: wait as the server says.
    if (res.status === 429 && attempt < RATE_LIMIT_RETRIES) {
      await res.body?.cancel();
      const after = Number(res.headers.get('retry-after'));
      const seconds = Number.isFinite(after) && after > 0 ? Math.min(after, MAX_RETRY_AFTER_SECONDS) : 1;
      await new Promise((r) => setTimeout(r, seconds * 1000));
      continue;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new ConsoleError(
        'LOG_INVALID',
        `entry bundle ${index} of the log: the server answered ${res.status}`,
      );
    }
    try {
      return new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      if (e instanceof AnswerTooLargeError) throw bundleTooLarge(path, e);
      throw e;
    }
  }
}

/** An entry bundle past its limit: LOG_INVALID naming the request and the limit, and nothing else. */
function bundleTooLarge(path: string, e: AnswerTooLargeError): ConsoleError {
  return new ConsoleError(
    'LOG_INVALID',
    `GET ${path}: the answer is larger than the limit of ${e.limit} bytes`,
  );
}

/**
 * Reads the log for one run (a completeness check, a plan check): the first call reads and
 * verifies every entry; each later call reads only what the log grew by since. A run reads the
 * log again while the server's view and the log disagree (holds-with-log.ts, the policy's
 * catch-up), and those reads are the server's to cause: re-reading the whole log each time
 * would let it make every check cost several full reads. Only the bundles from the one the
 * last read ended in are fetched; the entries already read must come back unchanged
 * (LOG_FORK), and the new ones, appended to the tree this run verified, must hash to the new
 * signed checkpoint. A checkpoint no larger than the one already read adds nothing: the last
 * read is answered again (a same-sized one with another root is LOG_FORK).
 */
export function verifiedLogReader(
  session: OfficerSession,
  onProgress: (message: string) => void = () => undefined,
): VerifiedLogReader {
  let pin: PinnedLog | undefined;
  let last: ReadSoFar | undefined;
  return async () => {
    pin ??= await pinnedLogOf(session);
    const head = await session.api.call('GET', `/v1/orgs/${session.orgId}/log`);
    if (typeof head.checkpoint !== 'string') {
      throw new ConsoleError('LOG_INVALID', 'the log head lacks its checkpoint');
    }
    const { checkpoint: cp } = await trustCheckpoint(
      session,
      pin,
      head.checkpoint,
      "the log's latest checkpoint",
    );
    if (last !== undefined && cp.treeSize <= last.log.treeSize) {
      if (cp.treeSize === last.log.treeSize && !sameRoot(cp.rootHash, rootOf(last.state)))
        throw new ConsoleError(
          'LOG_FORK',
          `the log's checkpoint at size ${cp.treeSize} has another root than the one this run verified at that size`,
        );
      return last.log;
    }
    last = await readTail(
      session,
      { ...pin, treeSize: cp.treeSize, root: cp.rootHash, note: head.checkpoint },
      last,
      onProgress,
    );
    return last.log;
  };
}

/** A run's log reads: a call reads the log as {@link verifiedLogReader} says. */
export type VerifiedLogReader = () => Promise<VerifiedLog>;

/** What a reader keeps between reads: the log, its tree, and the raw entries of its last bundle. */
interface ReadSoFar {
  readonly log: VerifiedLog;
  readonly state: TreeState;
  /** The raw entries of the last bundle read, when it was partial (its first entries come back). */
  readonly partial: readonly Uint8Array[];
}

/** The signed checkpoint a read verifies against. */
interface ReadTarget extends PinnedLog {
  readonly treeSize: number;
  readonly root: Uint8Array;
  readonly note: string;
}

/** Reads the entries past `prev` (all of them without it) up to `to`, verified against its root. */
async function readTail(
  session: OfficerSession,
  to: ReadTarget,
  prev: ReadSoFar | undefined,
  onProgress: (message: string) => void,
): Promise<ReadSoFar> {
  const from = prev?.log.treeSize ?? 0;
  const fresh: Uint8Array[] = [];
  let partial: Uint8Array[] = [];
  for (let b = Math.floor(from / TILE_WIDTH); b * TILE_WIDTH < to.treeSize; b++) {
    const base = b * TILE_WIDTH;
    const width = Math.min(TILE_WIDTH, to.treeSize - base);
    const bytes = await fetchBundle(session.api.baseUrl, session.orgId, b, width);
    let raw: Uint8Array[];
    try {
      raw = decodeEntryBundle(bytes, width);
    } catch (e) {
      throw new ConsoleError('LOG_INVALID', `entry bundle ${b} of the log is malformed`, { cause: e });
    }
    const kept = Math.max(0, from - base);
    // The root below covers only the new entries: the ones this run read must come back unchanged.
    if (kept > 0 && prev?.partial.some((e, i) => Buffer.compare(Buffer.from(e), Buffer.from(raw[i]!)) !== 0))
      throw new ConsoleError(
        'LOG_FORK',
        `entry bundle ${b}: the server serves other entries below index ${from} than it served earlier in this run`,
      );
    fresh.push(...raw.slice(kept));
    partial = width < TILE_WIDTH ? raw : [];
    if (b % 64 === 63) onProgress(`log: ${from + fresh.length} of ${to.treeSize} entries read`);
  }
  const { state, root } = appendEntries(prev?.state ?? EMPTY_TREE_STATE, fresh);
  if (!sameRoot(root, to.root)) {
    throw new ConsoleError(
      'LOG_INVALID',
      "the log's entries do not hash to its signed checkpoint: the server serves another log than it signed",
    );
  }
  const added = fresh.map((bytes, i) => {
    try {
      return { index: from + i, entry: decodeLogEntry(bytes) };
    } catch (e) {
      throw new ConsoleError('LOG_INVALID', `log entry ${from + i} is malformed`, { cause: e });
    }
  });
  const entries = prev === undefined ? added : [...prev.log.entries, ...added];
  const log = {
    origin: to.origin,
    verifierKey: to.verifierKey,
    treeSize: to.treeSize,
    checkpoint: to.note,
    entries,
  };
  return { log, state, partial };
}

/** Reads and verifies every entry of the session's org log up to its latest checkpoint. */
export async function readVerifiedLog(
  session: OfficerSession,
  onProgress: (message: string) => void = () => undefined,
): Promise<VerifiedLog> {
  return verifiedLogReader(session, onProgress)();
}
