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
  TILE_WIDTH,
  type LogEntry,
} from '@custos/core';
import { ENTRY_BUNDLE_ANSWER_LIMIT_BYTES } from '@custos/client/answer-limits';
import { AnswerTooLargeError, httpFetch, type HttpResponse } from '@custos/client/http-fetch';
import { RATE_LIMIT_RETRIES } from '../ceremony-api.js';
import { ConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';
import { pinnedLogOf } from '../audit/log-pin.js';
import { trustCheckpoint } from '../audit/log-state.js';

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

/** Reads and verifies every entry of the session's org log up to its latest checkpoint. */
export async function readVerifiedLog(
  session: OfficerSession,
  onProgress: (message: string) => void = () => undefined,
): Promise<VerifiedLog> {
  const pin = await pinnedLogOf(session);
  const head = await session.api.call('GET', `/v1/orgs/${session.orgId}/log`);
  if (typeof head.checkpoint !== 'string') {
    throw new ConsoleError('LOG_INVALID', 'the log head lacks its checkpoint');
  }
  const { treeSize, rootHash: root } = (
    await trustCheckpoint(session, pin, head.checkpoint, "the log's latest checkpoint")
  ).checkpoint;
  const raw: Uint8Array[] = [];
  for (let b = 0; b * TILE_WIDTH < treeSize; b++) {
    const width = Math.min(TILE_WIDTH, treeSize - b * TILE_WIDTH);
    const bytes = await fetchBundle(session.api.baseUrl, session.orgId, b, width);
    try {
      raw.push(...decodeEntryBundle(bytes, width));
    } catch (e) {
      throw new ConsoleError('LOG_INVALID', `entry bundle ${b} of the log is malformed`, { cause: e });
    }
    if (b % 64 === 63) onProgress(`log: ${raw.length} of ${treeSize} entries read`);
  }
  const computed = appendEntries(EMPTY_TREE_STATE, raw).root;
  if (Buffer.compare(Buffer.from(computed), Buffer.from(root)) !== 0) {
    throw new ConsoleError(
      'LOG_INVALID',
      "the log's entries do not hash to its signed checkpoint: the server serves another log than it signed",
    );
  }
  const entries = raw.map((bytes, index) => {
    try {
      return { index, entry: decodeLogEntry(bytes) };
    } catch (e) {
      throw new ConsoleError('LOG_INVALID', `log entry ${index} is malformed`, { cause: e });
    }
  });
  return { ...pin, treeSize, checkpoint: head.checkpoint, entries };
}
