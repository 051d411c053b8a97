/**
 * Threat model F1, F3, F8, F9, F11, F12, F13: a fresh random canary goes through a real
 * server process and real CLI profiles as message text, attachment bytes, file name, group
 * name and display name (and contact names). Then the canary is searched for in UTF-8,
 * UTF-16LE, base64 and hex across the server's whole data folder (SQLite database, WAL,
 * blobs, keys), its standard output and error (debug logging on), and a V8 heap snapshot of
 * the running server: no hit anywhere. Each search first finds a planted copy in every
 * encoding (positive control). The officer opens the record with `custos console search`
 * and finds it; the clients' profile folders hold it only inside ciphertext.
 *
 * The heap snapshot comes from `--heapsnapshot-signal`, passed to node by this test only;
 * `custos server` itself enables no snapshot, inspector or dump mechanism (checked below).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stopServer, tempDir } from '../client-support.js';
import { cliOrg, custos, custosJson, inviteAndEnrol, type CliOrg } from '../cli-support.js';
import { ROOT } from '../server-process.js';
import {
  encodeCanary,
  ENCODINGS,
  filesUnder,
  plantedHeapSnapshot,
  searchBytes,
  searchFolder,
  searchHeapSnapshot,
  takeHeapSnapshot,
  type Encoding,
} from './canary-search.js';
import { enrolOfficer, type Officer } from './officer-support.js';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 900_000 });

/** The signal the test's server process (only) writes a heap snapshot on. */
const SNAPSHOT_SIGNAL = 'SIGUSR2';
/** Attempts while waiting for the indexer (a record is searchable about a second after its checkpoint). */
const INDEX_ATTEMPTS = 60;

const canary = `cn${randomBytes(12).toString('hex')}`;
const dir = tempDir('custos-canary-');
const snapshots = join(dir, 'snapshots');
const p = { alice: join(dir, 'alice'), bob: join(dir, 'bob') };
let org: CliOrg;
let officer: Officer;

interface SyncOut {
  events: { kind: string; text?: string; attachments?: { fileName: string }[] }[];
  saved: string[];
}
interface SearchOut {
  matches: { text?: string; proof: string }[];
}

const as = (who: keyof typeof p, args: string[]): string[] => [...args, '--profile', p[who]];

/** Plants the canary in `folder`, one file per encoding; expects each found in exactly its encoding. */
function expectPlantedFound(folder: string): void {
  const planted = ENCODINGS.map((e) => {
    const f = join(folder, `positive-control-${e}`);
    writeFileSync(f, encodeCanary(canary, e));
    return f;
  });
  try {
    const hits = searchFolder(folder, canary);
    for (const [i, e] of ENCODINGS.entries()) {
      expect(hits.filter((h) => h.where === planted[i]).map((h) => h.encoding)).toContain(e);
    }
    expect(hits.every((h) => planted.includes(h.where))).toBe(true);
  } finally {
    for (const f of planted) unlinkSync(f);
  }
}

beforeAll(async () => {
  mkdirSync(snapshots);
  org = await cliOrg(dir, 'Example Agency', {
    nodeArgs: [`--heapsnapshot-signal=${SNAPSHOT_SIGNAL}`, `--diagnostic-dir=${snapshots}`],
    serverArgs: ['--log-level', 'debug'],
  });
  // The canary is alice's display name (enroll --name) and the admin's local name for her.
  const alice = await inviteAndEnrol(org, canary, p.alice);
  const bob = await inviteAndEnrol(org, 'bob', p.bob);
  officer = await enrolOfficer(org, dir, [p.alice, p.bob]);
  await custosJson(as('alice', ['contacts', 'add', 'bob', bob]));
  await custosJson(as('bob', ['contacts', 'add', canary, alice]));

  const files = join(dir, 'outbox');
  mkdirSync(files);
  const attachment = join(files, `${canary}.txt`);
  writeFileSync(attachment, Buffer.concat([Buffer.from(`attachment ${canary}\n`), randomBytes(64)]));
  await custosJson(as('alice', ['send', '--to', 'bob', '--attach', attachment, canary]));
  await custosJson(as('alice', ['group', 'create', canary, 'bob']));
  await custosJson(as('alice', ['send', '--group', canary, `group says ${canary}`]));
  await custosJson(as('alice', ['sync']));
}, 900_000);

afterAll(async () => {
  if (org !== undefined) await stopServer(org.server);
  rmSync(dir, { recursive: true, force: true });
});

describe('canary (F1, F3, F8, F9, F11, F12, F13)', () => {
  it('the recipient reads the message, its file and the group; the officer finds the record', async () => {
    const saveDir = join(dir, 'saved');
    const got = await custosJson<SyncOut>(as('bob', ['sync', '--save-attachments', saveDir]));
    const msg = got.events.find((e) => e.text === canary);
    expect(msg?.attachments?.[0]?.fileName).toBe(`${canary}.txt`);
    expect(got.events.some((e) => e.text === `group says ${canary}`)).toBe(true);
    expect(
      readFileSync(got.saved[0]!)
        .subarray(0, canary.length + 11)
        .toString(),
    ).toBe(`attachment ${canary}`);
    const groups = await custosJson<{ groups: { name: string }[] }>(as('bob', ['group', 'list']));
    expect(groups.groups.map((g) => g.name)).toEqual([canary]);

    // Both devices archive both messages; the officer opens them (proofs verified).
    // Each message is archived by alice's and bob's device (the group's creation records, which
    // carry its name, match too).
    const count = (r: SearchOut, text: string): number => r.matches.filter((m) => m.text === text).length;
    const complete = (r: SearchOut): boolean =>
      count(r, canary) >= 2 && count(r, `group says ${canary}`) >= 2;
    let found: SearchOut = { matches: [] };
    for (let i = 0; i < INDEX_ATTEMPTS && !complete(found); i++) {
      // Each search opens the officer profile (seconds of scrypt): wait for the indexer first.
      await new Promise((r) => setTimeout(r, i === 0 ? 2000 : 1000));
      found = await custosJson<SearchOut>(['console', 'search', canary, ...officer.args]);
    }
    const texts = found.matches.map((m) => m.text);
    expect(texts.filter((t) => t === canary).length).toBeGreaterThanOrEqual(2);
    expect(texts.filter((t) => t === `group says ${canary}`)).toHaveLength(2);
    expect(found.matches.every((m) => m.proof === 'verified')).toBe(true);
  });

  it('the server data folder (database, WAL, blobs, keys) holds no form of the canary', () => {
    const data = org.server.dataDir;
    expect(filesUnder(data).some((f) => f.endsWith('-wal'))).toBe(true);
    expect(filesUnder(data).some((f) => f.includes('blobs'))).toBe(true);
    expectPlantedFound(data);
    expect(searchFolder(data, canary)).toEqual([]);
  });

  it('the server output (debug logging) holds no form of the canary', () => {
    const out = `${org.server.stdout}\n${org.server.stderr}`;
    expect(out).toContain('"event"');
    for (const e of ENCODINGS) {
      const planted = Buffer.concat([Buffer.from(out), encodeCanary(canary, e)]);
      expect(searchBytes('planted', planted, canary).map((h) => h.encoding)).toContain(e);
    }
    expect(searchBytes('server output', out, canary)).toEqual([]);
  });

  it('a heap snapshot of the running server holds no form of the canary', async () => {
    const controls = new Map<Encoding, string>(
      ENCODINGS.map((e) => [e, `ctl${e}${randomBytes(10).toString('hex')}`]),
    );
    const control = await plantedHeapSnapshot(snapshots, controls, SNAPSHOT_SIGNAL);
    for (const [e, c] of controls) {
      expect(
        searchHeapSnapshot(control, c).map((h) => h.encoding),
        e,
      ).toContain(e);
    }
    const snapshot = await takeHeapSnapshot(org.server.child.pid!, snapshots, SNAPSHOT_SIGNAL);
    // The snapshot is of the server: it holds the organisation's id.
    expect(readFileSync(snapshot).includes(Buffer.from(org.orgId))).toBe(true);
    expect(searchHeapSnapshot(snapshot, canary)).toEqual([]);
  });

  it('the clients’ profile folders hold the canary only inside ciphertext', () => {
    expectPlantedFound(p.alice);
    for (const profile of [p.alice, p.bob]) expect(searchFolder(profile, canary)).toEqual([]);
  });

  it('after a clean stop (WAL checkpointed into the database) the data folder still has none', async () => {
    await stopServer(org.server);
    expect(searchFolder(org.server.dataDir, canary)).toEqual([]);
  });
});

describe('production start-up enables no dump or inspector mechanism', () => {
  it('`custos server` refuses to start under an inspector flag', async () => {
    // (--inspect-brk stops before any code runs, so nothing in the process can refuse it:
    // `custos doctor` reports it from the service's environment instead.)
    // (The matcher's other flags and node's own arguments: packages/cli/src/debug-flags.test.ts.)
    const r = await custos(['server', '--data', join(dir, 'refused'), '--listen', '127.0.0.1:0'], {
      NODE_OPTIONS: '--inspect=127.0.0.1:0',
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /custos server: refusing to start: node runs with --inspect \(from NODE_OPTIONS\)/,
    );
  });

  it('no server or CLI source opens an inspector, writes a heap snapshot or installs a dump signal', () => {
    const sources = ['packages/server/src', 'packages/cli/src']
      .flatMap((d) => filesUnder(join(ROOT, d)))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes('/testing/'))
      // These two name the flags in order to refuse them.
      .filter((f) => !f.endsWith('/debug-flags.ts') && !f.endsWith('/commands/doctor.ts'));
    expect(sources.length).toBeGreaterThan(20);
    const forbidden =
      /node:inspector|writeHeapSnapshot|getHeapSnapshot|heapsnapshot-signal|setHeapSnapshotNearHeapLimit/;
    expect(sources.filter((f) => forbidden.test(readFileSync(f, 'utf8')))).toEqual([]);
  });
});
