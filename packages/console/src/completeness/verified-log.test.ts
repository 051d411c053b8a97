/**
 * readVerifiedLog against a small HTTP server that serves a real signed log (300 entries,
 * two bundles) — and lies: a changed entry, a checkpoint under another key, a short
 * bundle. Each lie is LOG_INVALID; a 429 is waited out. A log shown to a profile that saw
 * it before, rolled back or rewritten (validly signed: the operator holds the key), is
 * LOG_ROLLBACK or LOG_FORK, the profile's stored checkpoint untouched. A run's reader
 * (verifiedLogReader) reads the whole log once, then only the bundles the log grew into; an
 * entry it read that comes back changed is LOG_FORK.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  appendEntries,
  EMPTY_TREE_STATE,
  encodeEntryBundle,
  encodeLogEntry,
  generateSignerKey,
  parseSignerKey,
  signCheckpoint,
  type LogEntry,
} from '@custos/core';
import { ENTRY_BUNDLE_ANSWER_LIMIT_BYTES } from '@custos/client/answer-limits';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';
import { httpOfficerSession } from '../officer-session-test-support.js';
import { PROFILE_LOG_STATE_FILE } from '../audit/log-state.js';
import { consistencyAnswerFor } from '../search/enrolment-test-support.js';
import { readVerifiedLog, verifiedLogReader } from './verified-log.js';

const ORG = 'org-verified-log';
const ORIGIN = `custos.test/${ORG}`;

const entry = (i: number): Uint8Array => {
  const e: LogEntry = {
    type: 'audit-event',
    kind: 'archive-search',
    hash: new Uint8Array(32).fill(i % 256),
    size: i,
    actor: 'device-1',
    time: 1000 + i,
  };
  return encodeLogEntry(e);
};

interface Behaviour {
  checkpointKey: 'right' | 'other';
  tamper: boolean;
  short: boolean;
  throttleOnce: boolean;
  /** Bundle 1 answered with more bytes than any entry bundle can hold. */
  oversized: boolean;
  /**
   * The log served: honest (300 entries), or other entries signed with the same key; stale:
   * the honest 300 from a server that has since grown (its proofs are the grown log's).
   */
  view: 'honest' | 'grown' | 'rolled-back' | 'rewritten' | 'stale';
}

describe('readVerifiedLog', () => {
  const honest = Array.from({ length: 310 }, (_, i) => entry(i));
  const views = {
    honest: honest.slice(0, 300),
    grown: honest,
    'rolled-back': honest.slice(0, 200),
    // Entry 5 replaced, ten entries added: a longer log with another history.
    rewritten: honest.map((e, i) => (i === 5 ? entry(9999) : e)),
    stale: honest.slice(0, 300),
  };
  const key = generateSignerKey(ORIGIN);
  const other = generateSignerKey(ORIGIN);
  const served = () => views[b.view];
  const cp = (k: typeof key) =>
    signCheckpoint(
      {
        origin: ORIGIN,
        treeSize: served().length,
        rootHash: appendEntries(EMPTY_TREE_STATE, served()).root,
        extensions: [],
      },
      parseSignerKey(k.signerKey),
    );
  let server: Server;
  let url: string;
  const b: Behaviour = {
    checkpointKey: 'right',
    tamper: false,
    short: false,
    throttleOnce: false,
    oversized: false,
    view: 'honest',
  };
  let throttled = 0;
  /** The entry bundles asked for, by path (…/tile/entries/N[.p/W]). */
  let bundles: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '';
      if (path === `/v1/orgs/${ORG}/log`) {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            origin: ORIGIN,
            verifierKey: key.verifierKey,
            checkpoint: cp(b.checkpointKey === 'right' ? key : other),
          }),
        );
        return;
      }
      const consistency = consistencyAnswerFor(path, b.view === 'stale' ? views.grown : served());
      if (consistency !== undefined) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(consistency));
        return;
      }
      const m = /\/log\/tile\/entries\/(\d+)(?:\.p\/(\d+))?$/.exec(path);
      if (m === null) {
        res.statusCode = 404;
        res.end('{}');
        return;
      }
      bundles.push(path.slice(path.indexOf('/tile/')));
      if (b.throttleOnce && throttled++ === 0) {
        res.statusCode = 429;
        res.setHeader('retry-after', '1');
        res.end('{}');
        return;
      }
      const n = Number(m[1]);
      const w = m[2] === undefined ? 256 : Number(m[2]);
      let slice = served().slice(n * 256, n * 256 + w);
      if (b.tamper && n === 1) slice = [...slice.slice(0, 5), entry(9999), ...slice.slice(6)];
      if (b.short && n === 1) slice = slice.slice(0, -1);
      res.setHeader('content-type', 'application/octet-stream');
      if (b.oversized && n === 1) {
        res.end(Buffer.alloc(ENTRY_BUNDLE_ANSWER_LIMIT_BYTES + 1));
        return;
      }
      res.end(Buffer.from(encodeEntryBundle(slice)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  const session = (): OfficerSession => httpOfficerSession(url, ORG);
  const reset = () =>
    Object.assign(b, {
      checkpointKey: 'right',
      tamper: false,
      short: false,
      throttleOnce: false,
      oversized: false,
      view: 'honest',
    });
  const invalid = async (why: RegExp) => {
    const e: unknown = await readVerifiedLog(session()).catch((x: unknown) => x);
    expect(isConsoleError(e, 'LOG_INVALID')).toBe(true);
    expect((e as Error).message).toMatch(why);
  };

  it('reads every entry, in order, verified against the signed checkpoint', async () => {
    reset();
    const log = await readVerifiedLog(session());
    expect(log.treeSize).toBe(300);
    expect(log.entries.map((e) => e.index)).toEqual(views.honest.map((_, i) => i));
    expect(log.entries[299]!.entry).toMatchObject({ type: 'audit-event', size: 299, time: 1299 });
  });

  it('refuses a log whose entries do not hash to the checkpoint (one entry changed)', async () => {
    reset();
    b.tamper = true;
    await invalid(/do not hash to its signed checkpoint/);
  });

  it('refuses a checkpoint signed by another key, and a short bundle', async () => {
    reset();
    b.checkpointKey = 'other';
    await invalid(/does not verify with the pinned log key/);
    reset();
    b.short = true;
    await invalid(/entry bundle 1 of the log is malformed/);
  });

  it('refuses a bundle larger than any entry bundle, naming the request and the limit', async () => {
    reset();
    b.oversized = true;
    await invalid(
      new RegExp(
        `^GET /v1/orgs/${ORG}/log/tile/entries/001\\.p/44: the answer is larger than the limit of ${ENTRY_BUNDLE_ANSWER_LIMIT_BYTES} bytes$`,
      ),
    );
  });

  it('waits out a 429 on the public tile routes', async () => {
    reset();
    b.throttleOnce = true;
    throttled = 0;
    expect((await readVerifiedLog(session())).entries).toHaveLength(300);
    expect(throttled).toBeGreaterThan(1);
  });

  it('refuses a log rolled back or rewritten since this profile read it; stores nothing; follows growth', async () => {
    reset();
    const s = session();
    expect((await readVerifiedLog(s)).treeSize).toBe(300);
    const stored = readFileSync(join(s.dir, PROFILE_LOG_STATE_FILE), 'utf8');
    for (const [view, code, sizes] of [
      ['rolled-back', 'LOG_ROLLBACK', /has 200 entries, .* had 300/],
      ['rewritten', 'LOG_FORK', /at size 310 is not an extension of .* \(size 300\)/],
    ] as const) {
      b.view = view;
      const e: unknown = await readVerifiedLog(s).catch((x: unknown) => x);
      expect(isConsoleError(e, code), String(e)).toBe(true);
      expect((e as Error).message).toMatch(sizes);
      expect(readFileSync(join(s.dir, PROFILE_LOG_STATE_FILE), 'utf8')).toBe(stored);
    }
    b.view = 'grown';
    expect((await readVerifiedLog(s)).treeSize).toBe(310);
  });

  it('reads the whole log once per run, then only the bundles it grew into', async () => {
    reset();
    const s = session();
    const read = verifiedLogReader(s);
    bundles = [];
    const first = await read();
    expect(first.treeSize).toBe(300);
    expect(bundles).toEqual(['/tile/entries/000', '/tile/entries/001.p/44']);
    // Unchanged: nothing is fetched again, whatever the number of reads.
    bundles = [];
    for (let i = 0; i < 4; i++) expect(await read()).toBe(first);
    expect(bundles).toEqual([]);
    // Grown by ten: only the partial bundle, now 54 wide; the entries come out as one read.
    b.view = 'grown';
    const grown = await read();
    expect(bundles).toEqual(['/tile/entries/001.p/54']);
    expect(grown.treeSize).toBe(310);
    expect(grown.entries.map((e) => e.index)).toEqual(views.grown.map((_, i) => i));
    expect(grown.entries[305]!.entry).toMatchObject({ size: 305, time: 1305 });
    // A stale head (a replica behind the one read before) adds nothing.
    bundles = [];
    b.view = 'stale';
    expect(await read()).toBe(grown);
    expect(bundles).toEqual([]);
  });

  it('refuses, on a later read, an entry it read earlier that comes back changed', async () => {
    reset();
    const read = verifiedLogReader(session());
    await read();
    // Entry 261 (in the partial bundle) changed under a grown log whose checkpoint is honest.
    b.view = 'grown';
    b.tamper = true;
    const e: unknown = await read().catch((x: unknown) => x);
    expect(isConsoleError(e, 'LOG_FORK'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/other entries below index 300 than it served earlier in this run/);
  });
});
