/**
 * Blind search (issue 5 target): 1,000,000 archived records (about 1 KiB of text each,
 * words drawn from a 50,000-word vocabulary with a Zipf distribution, generated
 * deterministically), stored through the real SQLite store as ingest stores them, the log
 * integrated, and indexed by the real search indexer. A sample runs a fixed set of
 * two-term queries server side — posting-block reads, intersection, and the page fetch of
 * up to 100 records with their bytes — and reports the 95th percentile latency.
 *
 * Baseline (same run, same process, same machine): SQLite FTS5 over the same plaintext, the
 * same queries as `a AND b`, newest 100 by rowid, with the page's rows fetched — both sides
 * return the page's stored bytes (FTS5: the 1 KiB bodies; Custos: the sealed records, about
 * 3.3 KiB with their token headers), both from page-cache-warm SQLite files, both
 * connections with the server's page cache size (defaults.SQLITE_CACHE_KIB), so neither side
 * gets a bigger cache than the other. Custos looks for limit + 1 hits (to know whether a next
 * page exists) and fetches limit records; FTS5 stops at limit.
 *
 * Building takes minutes, so both databases are cached under bench/.cache, keyed by
 * {@link CACHE_VERSION} and the record count; CUSTOS_SEARCH_BENCH_N=50000 is a quick mode.
 * Each sample also prints CPU time (user + system) per query to stderr: on a loaded machine it
 * moves far less than wall time. CUSTOS_SEARCH_BENCH_AB=<another build's
 * packages/server/dist/index.js> adds a case running that build's search over the same
 * database (its own connection), for a before/after in one run.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { BlindIndexKey, deriveTokens } from '@custos/core';
import { defaults, openStore, searchTesting, type OrgId, type StoreBackend } from '@custos/server';
import type { BenchCase } from '../harness.js';

/** Bump when generation or the index layout changes: the cached databases are rebuilt. */
const CACHE_VERSION = 'search-v1';
const RECORDS = Number(process.env.CUSTOS_SEARCH_BENCH_N ?? 1_000_000);
const VOCABULARY = 50_000;
const ZIPF_S = 1.0;
/** Words per record: about 1 KiB of text. */
const WORDS_PER_RECORD = 160;
const RECORDS_PER_TX = 5_000;
/** Records between indexer runs while building (the indexer's maximum pass). */
const INDEX_EVERY = 20_000;
const QUERIES = 200;
const PAGE = 100;
const DEVICES = 200;
const CONVERSATIONS = 2_000;
/** Records spread over one year of days. */
const DAYS = 365;

// bench/dist/suites/search.js → bench/.cache
const CACHE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.cache');
const OURS = join(CACHE, `${CACHE_VERSION}-${RECORDS}.sqlite`);
const FTS = join(CACHE, `${CACHE_VERSION}-${RECORDS}-fts5.sqlite`);
const META = join(CACHE, `${CACHE_VERSION}-${RECORDS}.json`);

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic pronounceable words, all distinct. */
function vocabulary(): string[] {
  const cons = 'bcdfghjklmnprstvwz';
  const vow = 'aeiou';
  const out = new Set<string>();
  const rnd = prng(7);
  while (out.size < VOCABULARY) {
    const syl = 1 + Math.floor(rnd() * 4);
    let w = '';
    for (let i = 0; i < syl; i++)
      w += cons[Math.floor(rnd() * cons.length)]! + vow[Math.floor(rnd() * vow.length)]!;
    out.add(w);
  }
  return [...out];
}

/** Zipf CDF over ranks 0..n-1. */
function zipfCdf(n: number): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / Math.pow(i + 1, ZIPF_S);
  for (let i = 0; i < n; i++) cdf[i]! /= sum;
  return cdf;
}

function sample(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The word ranks of record `r` (deterministic in r). */
function recordWords(cdf: Float64Array, r: number): number[] {
  const rnd = prng(1_000_003 * (r + 1));
  return Array.from({ length: WORDS_PER_RECORD }, () => sample(cdf, rnd()));
}

async function build(): Promise<void> {
  mkdirSync(CACHE, { recursive: true });
  for (const f of [OURS, FTS, META, `${OURS}.tmp`, `${FTS}.tmp`]) rmSync(f, { force: true });
  const words = vocabulary();
  const cdf = zipfCdf(VOCABULARY);
  const key = BlindIndexKey.fromBytes(new Uint8Array(32).fill(9));
  const termTokens = deriveTokens(key, 'term', words);
  const convTokens = deriveTokens(
    key,
    'conversation',
    Array.from({ length: CONVERSATIONS }, (_, i) => `conv-${i}`),
  );
  const partTokens = deriveTokens(
    key,
    'participant',
    Array.from({ length: DEVICES }, (_, i) => `org.user-${i}`),
  );
  const day0 = Date.UTC(2026, 0, 1);
  const dayOf = (i: number) => new Date(day0 + i * 86_400_000).toISOString();
  const dayTokens = deriveTokens(
    key,
    'day',
    Array.from({ length: DAYS }, (_, i) => dayOf(i).slice(0, 10)),
  );
  const monthTokens = deriveTokens(
    key,
    'month',
    Array.from({ length: DAYS }, (_, i) => dayOf(i).slice(0, 7)),
  );
  const stores = await openStore({ kind: 'sqlite', path: `${OURS}.tmp` });
  const fts = new Database(`${FTS}.tmp`);
  fts.pragma('journal_mode = WAL');
  fts.exec("CREATE VIRTUAL TABLE docs USING fts5(body, tokenize = 'unicode61')");
  const ftsInsert = fts.prepare('INSERT INTO docs (rowid, body) VALUES (?, ?)');
  let orgId: OrgId;
  try {
    orgId = await searchTesting.createSearchOrg(stores);
    const devices = Array.from(
      { length: DEVICES },
      () => new searchTesting.SyntheticDevice(orgId, 'bench-bucket'),
    );
    const integrator = searchTesting.testIntegrator(stores);
    const indexer = new searchTesting.SearchIndexer({ stores, logger: searchTesting.silentLogger });
    const body = new Uint8Array(1024).fill(0x5a);
    const started = performance.now();
    for (let first = 0; first < RECORDS; first += RECORDS_PER_TX) {
      const batch: searchTesting.SyntheticRecord[] = [];
      const texts: string[] = [];
      for (let r = first; r < Math.min(RECORDS, first + RECORDS_PER_TX); r++) {
        const ranks = recordWords(cdf, r);
        texts.push(ranks.map((i) => words[i]).join(' '));
        const d = r % DEVICES;
        const tokens = [...new Set(ranks)].map((i) => termTokens[i]!);
        const day = Math.floor((r / RECORDS) * DAYS);
        tokens.push(convTokens[(r * 31) % CONVERSATIONS]!, partTokens[d]!, partTokens[(d + 1) % DEVICES]!);
        tokens.push(dayTokens[day]!, monthTokens[day]!);
        const dev = devices[d]!;
        batch.push({ device: dev, ...dev.next(tokens, body) });
      }
      const indexes = await searchTesting.storeRecords(stores, orgId, batch);
      fts.transaction(() => indexes.forEach((li, i) => ftsInsert.run(li, texts[i]!)))();
      // The indexer runs once per INDEX_EVERY records: passes of MAX_ENTRIES_PER_INDEX_PASS, as a
      // backlogged indexer makes them (docs/search.md §6 on smaller passes).
      if ((first + batch.length) % INDEX_EVERY === 0 || first + batch.length >= RECORDS) {
        while ((await integrator.integrateOrg(orgId)) !== null);
        while ((await indexer.indexOrg(orgId)) !== null);
      }
      if ((first / RECORDS_PER_TX) % 10 === 0) {
        const s = ((performance.now() - started) / 1000).toFixed(0);
        process.stderr.write(`search bench: built ${first + batch.length}/${RECORDS} records (${s} s)\n`);
      }
    }
    fts.exec("INSERT INTO docs (docs) VALUES ('optimize')");
  } finally {
    await stores.close();
    fts.close();
  }
  renameSync(`${OURS}.tmp`, OURS);
  rmSync(`${OURS}.tmp-wal`, { force: true });
  rmSync(`${OURS}.tmp-shm`, { force: true });
  renameSync(`${FTS}.tmp`, FTS);
  writeFileSync(META, `${JSON.stringify({ orgId, records: RECORDS })}\n`);
}

/** Two-term queries: a mid-frequency word with a common one, so pages are often full (up to 100). */
function queries(): [number, number][] {
  const rnd = prng(42);
  return Array.from({ length: QUERIES }, () => [20 + Math.floor(rnd() * 2_000), Math.floor(rnd() * 50)]);
}

function p95(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)]!;
}

let stores: StoreBackend | undefined;
let fts: Database.Database | undefined;
let orgId: OrgId;
let words: string[] = [];
let termTokens: Uint8Array[] = [];
let ftsQuery: Database.Statement | undefined;
let ftsPage: Database.Statement | undefined;
let lastHits = 0;
/** Another build's search (CUSTOS_SEARCH_BENCH_AB), for a before/after in one run. */
interface OtherBuild {
  readonly stores: StoreBackend;
  readonly runSearch: typeof searchTesting.runSearch;
}
let other: OtherBuild | undefined;
const AB = process.env.CUSTOS_SEARCH_BENCH_AB;

async function setup(): Promise<void> {
  if (!existsSync(OURS) || !existsSync(FTS) || !existsSync(META)) await build();
  stores = await openStore({ kind: 'sqlite', path: OURS });
  if ((await stores.search.backlogs()).length > 0)
    throw new Error('cached search bench database is not fully indexed');
  orgId = (JSON.parse(readFileSync(META, 'utf8')) as { orgId: OrgId }).orgId;
  words = vocabulary();
  termTokens = deriveTokens(BlindIndexKey.fromBytes(new Uint8Array(32).fill(9)), 'term', words);
  fts = new Database(FTS, { readonly: true });
  // The same page cache as the server's connection (openStore): a fair baseline.
  fts.pragma(`cache_size = -${defaults.SQLITE_CACHE_KIB}`);
  ftsQuery = fts.prepare('SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rowid DESC LIMIT ?');
  ftsPage = fts.prepare('SELECT rowid, body FROM docs WHERE rowid IN (SELECT value FROM json_each(?))');
}

async function teardown(): Promise<void> {
  await other?.stores.close();
  other = undefined;
  await stores?.close();
  fts?.close();
  stores = undefined;
  fts = undefined;
}

async function setupOther(): Promise<void> {
  await setup();
  const mod = (await import(AB!)) as {
    openStore: typeof openStore;
    searchTesting: { runSearch: typeof searchTesting.runSearch };
  };
  other = {
    stores: await mod.openStore({ kind: 'sqlite', path: OURS }),
    runSearch: mod.searchTesting.runSearch,
  };
}

/** CPU time (user + system) per query since `from`, in ms, to stderr. */
function reportCpu(label: string, from: NodeJS.CpuUsage): void {
  const u = process.cpuUsage(from);
  process.stderr.write(
    `search bench: ${label} ${((u.user + u.system) / 1000 / QUERIES).toFixed(3)} ms CPU per query\n`,
  );
}

async function oursP95(build?: OtherBuild): Promise<number> {
  const times: number[] = [];
  lastHits = 0;
  const cpu = process.cpuUsage();
  const run = build?.runSearch ?? searchTesting.runSearch;
  for (const [a, b] of queries()) {
    const t0 = performance.now();
    const page = await run(build?.stores ?? stores!, orgId, {
      allOf: [termTokens[a]!, termTokens[b]!],
      anyOf: [],
      limit: PAGE,
      before: null,
    });
    times.push(performance.now() - t0);
    lastHits += page.hits.length;
  }
  reportCpu(build === undefined ? 'Custos' : 'Custos (other build)', cpu);
  return p95(times);
}

function ftsP95(): number {
  const times: number[] = [];
  const cpu = process.cpuUsage();
  for (const [a, b] of queries()) {
    const t0 = performance.now();
    const ids = ftsQuery!.all(`${words[a]} AND ${words[b]}`, PAGE) as { rowid: number }[];
    ftsPage!.all(JSON.stringify(ids.map((r) => r.rowid)));
    times.push(performance.now() - t0);
  }
  reportCpu('FTS5', cpu);
  return p95(times);
}

/** The search suite. */
export const cases: BenchCase[] = [
  {
    kind: 'value',
    name: `search p95, two terms, ≤ ${PAGE} hits, ${RECORDS.toLocaleString('en')} records (server side)`,
    unit: 'ms',
    lowerIsBetter: true,
    samples: 5,
    setup,
    teardown,
    measure: async () => {
      const v = await oursP95();
      process.stderr.write(`search bench: ${(lastHits / QUERIES).toFixed(1)} hits per query on average\n`);
      return v;
    },
    baseline: { name: 'SQLite FTS5 over the plaintext', measure: ftsP95 },
    target: { max: 100, maxRatio: 3 },
  },
  ...(AB === undefined
    ? []
    : [
        {
          kind: 'value',
          name: `search p95 of the build at CUSTOS_SEARCH_BENCH_AB, ${RECORDS.toLocaleString('en')} records`,
          unit: 'ms',
          lowerIsBetter: true,
          samples: 5,
          setup: setupOther,
          teardown,
          measure: () => oursP95(other),
          baseline: { name: 'SQLite FTS5 over the plaintext', measure: ftsP95 },
          target: { max: 100, maxRatio: 3 },
        } satisfies BenchCase,
      ]),
];
