/**
 * trustCheckpoint against a lying log source: the operator holds the log key, so every
 * checkpoint here is validly signed; only the profile's stored checkpoint tells a rewritten
 * or rolled-back log apart. A fork (larger tree, other history), a rollback (smaller tree,
 * not a prefix) and the same size with another root are each refused, naming both sizes,
 * with the stored checkpoint left as it was; an honest extension is proven and stored, an
 * honest smaller tree (a prefix) is trusted as stale and not stored. Two module instances
 * (two processes' queues) on one profile take turns through the lock file.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appendEntries,
  EMPTY_TREE_STATE,
  encodeLogEntry,
  generateSignerKey,
  parseSignerKey,
  signCheckpoint,
} from '@custos/core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { isConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';
import { consistencyAnswerFor } from '../search/enrolment-test-support.js';
import { formatWitnessState, parseWitnessState } from '../witness/witness-state.js';
import { SEARCH_LOG_PIN_FILE } from './log-pin.js';
import { lostLogStateWarning, PROFILE_LOG_STATE_FILE, trustCheckpoint } from './log-state.js';

const ORG = 'org-log-state';
const ORIGIN = `custos.test/${ORG}`;
const key = generateSignerKey(ORIGIN);
const log = { origin: ORIGIN, verifierKey: key.verifierKey };
const root = mkdtempSync(join(tmpdir(), 'custos-log-state-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const entry = (i: number, variant = 0): Uint8Array =>
  encodeLogEntry({
    type: 'audit-event',
    kind: 'archive-search',
    hash: new Uint8Array(32).fill((i + variant) % 256),
    size: i,
    actor: 'device-1',
    time: 1000 + i,
  });
const honest = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => entry(i));
/** The same log with entry 3 rewritten: every tree from size 4 on has another root. */
const forked = (n: number, at = 3): Uint8Array[] => honest(n).map((e, i) => (i === at ? entry(i, 7) : e));
/** A checkpoint over `entries`, signed with the log key (the operator's). */
const note = (entries: readonly Uint8Array[]): string =>
  signCheckpoint(
    {
      origin: ORIGIN,
      treeSize: entries.length,
      rootHash: appendEntries(EMPTY_TREE_STATE, entries).root,
      extensions: [],
    },
    parseSignerKey(key.signerKey),
  );

/** A fresh profile whose server proves consistency over `served()` (what it shows now). */
function profile(
  served: () => readonly Uint8Array[],
  dir = mkdtempSync(join(root, 'profile-')),
  answer: (path: string) => Promise<void> = () => Promise.resolve(),
): {
  session: Pick<OfficerSession, 'dir' | 'orgId' | 'api'>;
  asked: string[];
  state: () => string;
} {
  const asked: string[] = [];
  const session = {
    dir,
    orgId: ORG,
    api: {
      call: async (_method: string, path: string) => {
        asked.push(path);
        await answer(path);
        return consistencyAnswerFor(path, served()) ?? {};
      },
    },
  } as unknown as Pick<OfficerSession, 'dir' | 'orgId' | 'api'>;
  return { session, asked, state: () => readFileSync(join(dir, PROFILE_LOG_STATE_FILE), 'utf8') };
}

/** The error `p` rejects with; fails the test when it resolves. */
async function refusal(p: Promise<unknown>): Promise<Error> {
  const e: unknown = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(Error);
  return e as Error;
}

describe('trustCheckpoint', () => {
  it('stores the first checkpoint (0600), keeps an unchanged one, proves and stores an extension', async () => {
    let view: readonly Uint8Array[] = honest(10);
    const p = profile(() => view);
    const first = await trustCheckpoint(p.session, log, note(view), 'the head');
    expect(first).toMatchObject({ outcome: 'first-seen', previousTreeSize: undefined });
    expect(first.checkpoint.treeSize).toBe(10);
    expect(statSync(join(p.session.dir, PROFILE_LOG_STATE_FILE)).mode & 0o777).toBe(0o600);
    expect(parseWitnessState(p.state())).toMatchObject({ orgId: ORG, treeSize: 10, checks: 1 });
    expect(await trustCheckpoint(p.session, log, note(view), 'the head')).toMatchObject({
      outcome: 'unchanged',
      previousTreeSize: 10,
    });
    expect(p.asked).toEqual([]);
    view = honest(15);
    expect(await trustCheckpoint(p.session, log, note(view), 'the head')).toMatchObject({
      outcome: 'extended',
      previousTreeSize: 10,
    });
    expect(p.asked).toEqual([`/v1/orgs/${ORG}/log/proof/consistency?from=10&to=15`]);
    expect(parseWitnessState(p.state())).toMatchObject({ treeSize: 15, checks: 2 });
  });

  it('refuses a rollback, a same-size fork and a rewritten history, naming both sizes; stores nothing', async () => {
    let view: readonly Uint8Array[] = honest(10);
    const p = profile(() => view);
    await trustCheckpoint(p.session, log, note(view), 'the head');
    const stored = p.state();
    const cases: [readonly Uint8Array[], string, RegExp][] = [
      [
        forked(8),
        'LOG_ROLLBACK',
        /^a records page: the log shrank: the server's checkpoint has 8 entries, .*had 10, and its tree is not a prefix/,
      ],
      [forked(10), 'LOG_FORK', /^a records page: the log forked: at size 10 /],
      [forked(15), 'LOG_FORK', /^a records page: the log at size 15 is not an extension of .* \(size 10\)/],
    ];
    for (const [served, code, message] of cases) {
      view = served;
      const e = await refusal(trustCheckpoint(p.session, log, note(served), 'a records page'));
      expect(isConsoleError(e, code as 'LOG_FORK'), e.message).toBe(true);
      expect(e.message).toMatch(message);
      expect(p.state()).toBe(stored);
    }
    // The honest log still verifies from where the profile was.
    view = honest(12);
    expect((await trustCheckpoint(p.session, log, note(view), 'the head')).outcome).toBe('extended');
  });

  it('refuses a checkpoint under another key, and a state kept under another key or for another org', async () => {
    const view = honest(10);
    const p = profile(() => view);
    const other = generateSignerKey(ORIGIN);
    const e = await refusal(
      trustCheckpoint(p.session, { origin: ORIGIN, verifierKey: other.verifierKey }, note(view), 'the head'),
    );
    expect(isConsoleError(e, 'LOG_INVALID')).toBe(true);
    expect(() => p.state()).toThrow(/ENOENT/);
    await trustCheckpoint(p.session, log, note(view), 'the head');
    const stored = parseWitnessState(p.state());
    const path = join(p.session.dir, PROFILE_LOG_STATE_FILE);
    writeFileSync(path, formatWitnessState({ ...stored, verifierKey: other.verifierKey }));
    expect(
      isConsoleError(
        await refusal(trustCheckpoint(p.session, log, note(view), 'the head')),
        'LOG_KEY_MISMATCH',
      ),
    ).toBe(true);
    writeFileSync(path, formatWitnessState({ ...stored, orgId: 'org-other' }));
    expect(
      isConsoleError(await refusal(trustCheckpoint(p.session, log, note(view), 'the head')), 'STATE_INVALID'),
    ).toBe(true);
    writeFileSync(path, '{"format":"custos-witness-state"');
    expect(
      isConsoleError(await refusal(trustCheckpoint(p.session, log, note(view), 'the head')), 'STATE_INVALID'),
    ).toBe(true);
  });

  it('starts from the officer-list check’s earlier state file when the profile has no shared one', async () => {
    const view = honest(10);
    const p = profile(() => view);
    const earlier = profile(() => view);
    await trustCheckpoint(earlier.session, log, note(view), 'the head');
    writeFileSync(join(p.session.dir, 'officers-log-state.json'), earlier.state());
    const e = await refusal(trustCheckpoint(p.session, log, note(forked(8)), 'the head'));
    expect(isConsoleError(e, 'LOG_ROLLBACK')).toBe(true);
    expect((await trustCheckpoint(p.session, log, note(view), 'the head')).previousTreeSize).toBe(10);
  });

  it('serialises concurrent checks of one profile, so the stored tree never moves backwards', async () => {
    const view = honest(20);
    const p = profile(() => view);
    await trustCheckpoint(p.session, log, note(honest(5)), 'the head');
    await Promise.all(
      [12, 20, 16].map((n) =>
        trustCheckpoint(p.session, log, note(honest(n)), `page ${n}`).catch(() => null),
      ),
    );
    expect(parseWitnessState(p.state()).treeSize).toBe(20);
  });

  it('trusts a smaller checkpoint that is a prefix of the stored one as stale, and keeps the stored one', async () => {
    const view = honest(10);
    const p = profile(() => view);
    await trustCheckpoint(p.session, log, note(view), 'the head');
    const stored = p.state();
    const stale = await trustCheckpoint(p.session, log, note(honest(9)), 'a records page');
    expect(stale).toMatchObject({ outcome: 'stale', previousTreeSize: 10 });
    expect(stale.checkpoint.treeSize).toBe(9);
    expect(p.asked).toEqual([`/v1/orgs/${ORG}/log/proof/consistency?from=9&to=10`]);
    expect(p.state()).toBe(stored);
  });

  it('takes turns with another process on the profile: a fork accepted meanwhile is not stored under it', async () => {
    // Two module instances stand for two processes: each has its own in-process queue.
    vi.resetModules();
    const other = (await import('./log-state.js')).trustCheckpoint;
    expect(other).not.toBe(trustCheckpoint);
    const honestView = honest(10);
    const p = profile(() => honestView);
    await trustCheckpoint(p.session, log, note(honest(5)), 'the head');
    // A's consistency proof is held back until B has started.
    let asked!: () => void;
    const proofAsked = new Promise<void>((r) => (asked = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const a = profile(
      () => honestView,
      p.session.dir,
      () => {
        asked();
        return released;
      },
    );
    const forkView = forked(10, 6); // extends the stored 5 entries, not A's 10
    const b = profile(() => forkView, p.session.dir);
    const first = trustCheckpoint(a.session, log, note(honestView), 'A');
    await proofAsked;
    const second = other(b.session, log, note(forked(8, 6)), 'B');
    release();
    expect((await first).outcome).toBe('extended');
    const e = await refusal(second);
    // The other module instance has its own ConsoleError class: compare the code.
    expect((e as { code?: string }).code, e.message).toBe('LOG_ROLLBACK');
    expect(e.message).toMatch(
      /^B: the log shrank: the server's checkpoint has 8 entries, .*had 10, and its tree is not a prefix/,
    );
    expect(parseWitnessState(p.state()).treeSize).toBe(10);
    expect(() => statSync(join(p.session.dir, 'audit-log-state.lock'))).toThrow(/ENOENT/);
  });

  it('takes over the lock of a process that is gone', async () => {
    const view = honest(10);
    const p = profile(() => view);
    // A pid far above any pid_max: no such process.
    writeFileSync(join(p.session.dir, 'audit-log-state.lock'), '2147483646\n');
    expect((await trustCheckpoint(p.session, log, note(view), 'the head')).outcome).toBe('first-seen');
    expect(() => statSync(join(p.session.dir, 'audit-log-state.lock'))).toThrow(/ENOENT/);
  });

  it('warns when a profile that pinned the log has lost its state files, not on a new profile', async () => {
    const view = honest(10);
    const p = profile(() => view);
    const dir = p.session.dir;
    expect(lostLogStateWarning(dir)).toBeUndefined();
    writeFileSync(join(dir, SEARCH_LOG_PIN_FILE), JSON.stringify(log));
    await trustCheckpoint(p.session, log, note(view), 'the head');
    expect(lostLogStateWarning(dir)).toBeUndefined();
    rmSync(join(dir, PROFILE_LOG_STATE_FILE));
    expect(lostLogStateWarning(dir)).toMatch(
      /audit-log-state\.json is missing although this profile pinned the org's log before: the log is trusted from the checkpoint this command sees on/,
    );
    writeFileSync(join(dir, 'officers-log-state.json'), '');
    expect(lostLogStateWarning(dir)).toBeUndefined();
  });
});
