/**
 * Archive ingest over HTTP (issue 3 targets): a real listening server, real HTTP/1.1
 * keep-alive clients, 1 KiB records in signed batches of 100 from 20 devices (each device
 * sends its batches in order, so 20 requests are in flight), 100,000 records per sample: the
 * sustained rate. A sample is timed from the first request until every record is
 * acknowledged (durably committed) AND covered by a signed checkpoint from the integrator
 * running every 250 ms.
 *
 * The server runs as its own process (../ingest-server.ts: the full app on SQLite with WAL
 * and synchronous=FULL, or PostgreSQL, plus the log integrator), so the load generator's
 * HTTP client work is not charged to it; this process seeds the store first (org, devices,
 * tokens, bucket), then only sends requests. A checkpoint counts when its IPC message
 * reaches this process (slightly later than it was signed, never earlier).
 *
 * Bodies use the binary media type (application/vnd.custos.archive-batch), not base64 JSON.
 *
 * Baseline (same run, same bytes, same server process): the same HTTP requests to a route
 * with the same body handling that only decodes the batch framing and answers — HTTP +
 * framing cost without verification, storage or the log.
 *
 * Records, chains and signatures are produced before the timer starts. Rate limits are
 * raised for the bench (the defaults allow 10 batches/s per device).
 *
 * PostgreSQL cases run when CUSTOS_TEST_PG_URL (or CUSTOS_BENCH_PG_URL) names a role that
 * may create databases. CUSTOS_BENCH_CPU=1 prints the server's CPU time per 1,000 records of
 * each sample, and how an ingest sample's time splits between sending (until the last answer)
 * and waiting for the checkpoint that covers it; INGEST_BENCH_NODE_ARGS passes node flags to
 * the server (e.g. --cpu-prof); INGEST_BENCH_SERVER runs another build of the server (see ingest-server.ts).
 */
import { SERVER_NODE_FLAGS } from '@custos/cli/gc-tuning';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  archiveTesting,
  createTestApp,
  openStore,
  sequencingAuditSink,
  type StoreBackend,
} from '@custos/server';
import pg from 'pg';
import type { BenchCase } from '../harness.js';
import type { IngestServerMessage, IngestServerSpec } from '../ingest-server.js';

const SERVER_SCRIPT = fileURLToPath(new URL('../ingest-server.js', import.meta.url));
const DEVICES = 20;
const BATCH = 100;
// 100,000 records per sample (~4 s): long enough that the sample measures the sustained rate.
// A sample ends when a checkpoint covers its last record, up to one integration interval
// (250 ms) after the last answer; with 20,000-record samples (until session 21) that tail was
// 4–22 % of a sample, depending on where the last answer fell in the integrator's cycle.
const BATCHES_PER_DEVICE = 50;
const RECORD_BODY_BYTES = 1024 - 120; // sealed record ≈ 1 KiB with header and framing
const INTEGRATION_INTERVAL_MS = 250;
const PG_URL = process.env.CUSTOS_BENCH_PG_URL ?? process.env.CUSTOS_TEST_PG_URL ?? '';
/** How long the bench waits for PostgreSQL's autovacuum to leave its database before dropping it. */
const DROP_WAIT_MS = 300_000;
const REPORT_CPU = process.env.CUSTOS_BENCH_CPU === '1';

interface Env {
  readonly url: string;
  readonly baselineUrl: string;
  readonly writers: archiveTesting.ArchiveWriter[];
  readonly checkpoints: { at: number; size: number }[];
  /** The server process's CPU time so far. */
  cpuMicros(): Promise<number>;
  close(): Promise<void>;
}

const agent = new Agent({ keepAlive: true, maxSockets: DEVICES * 2 });

function post(
  url: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          ...headers,
          'content-type': archiveTesting.ARCHIVE_BATCH_MEDIA_TYPE,
          'content-length': body.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function openBackend(kind: 'sqlite' | 'postgres'): Promise<{
  stores: StoreBackend;
  drop: () => Promise<void>;
  spec: IngestServerSpec['store'];
}> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'custos-bench-'));
    const path = join(dir, 'bench.sqlite');
    const stores = await openStore({ kind: 'sqlite', path });
    return { stores, spec: { kind, path }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `custos_bench_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  const stores = await openStore({ kind: 'postgres', url: u.toString() });
  return {
    stores,
    spec: { kind, url: u.toString() },
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await dropWhenVacuumed(c, name);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * Drops the bench database. An autovacuum worker (another role, which FORCE may not
 * terminate) can still be busy in it after the bench's writes (for a while, after 600,000
 * records): while anything is connected to it, the drop is retried; a failure with nothing
 * connected is thrown at once.
 */
async function dropWhenVacuumed(c: pg.Client, name: string): Promise<void> {
  const deadline = Date.now() + DROP_WAIT_MS;
  let told = false;
  for (;;) {
    try {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      return;
    } catch (e) {
      // A role without pg_read_all_stats sees no backend_type of another role's backend, so
      // count whatever is still connected to the database (the bench's own clients are closed).
      const connected = await c.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
        [name],
      );
      if (connected.rows[0]!.n === 0 || Date.now() > deadline) throw e;
      if (!told) {
        const why = e instanceof Error ? e.message : String(e);
        process.stderr.write(`  waiting for autovacuum to leave ${name} before dropping it (${why}) …\n`);
      }
      told = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Asks the server child something and waits for its answer of the same type. */
function ask<T extends IngestServerMessage['type']>(
  child: ChildProcess,
  type: T,
): Promise<Extract<IngestServerMessage, { type: T }>> {
  return new Promise((resolve) => {
    const on = (m: IngestServerMessage): void => {
      if (m.type !== type) return;
      child.off('message', on);
      resolve(m as Extract<IngestServerMessage, { type: T }>);
    };
    child.on('message', on);
    child.send({ type });
  });
}

async function setup(kind: 'sqlite' | 'postgres'): Promise<Env> {
  // Seed in this process (org, devices and their tokens, bucket), then hand the store over.
  const { stores, drop, spec } = await openBackend(kind);
  const limits = { burst: 1_000_000, perSecond: 1_000_000, maxKeys: 10_000 };
  const t = await createTestApp(stores, {
    audit: sequencingAuditSink,
    rateLimits: { address: limits, device: limits },
  });
  const org = await archiveTesting.createArchivingOrg(t, DEVICES);
  const writers = await Promise.all(org.members.map((m) => archiveTesting.ArchiveWriter.create(org, m)));
  await t.app.close();
  await stores.close();

  const serverSpec: IngestServerSpec = { store: spec, integrationIntervalMs: INTEGRATION_INTERVAL_MS };
  const child = fork(SERVER_SCRIPT, [JSON.stringify(serverSpec)], {
    // Node's flags as `custos server` has them (SERVER_NODE_FLAGS), then any of the bench's own.
    execArgv: [
      ...SERVER_NODE_FLAGS,
      ...(process.env.INGEST_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const checkpoints: { at: number; size: number }[] = [];
  child.on('message', (m: IngestServerMessage) => {
    if (m.type === 'checkpoint') checkpoints.push({ at: performance.now(), size: m.size });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await Promise.race([
    new Promise<Extract<IngestServerMessage, { type: 'ready' }>>((resolve) =>
      child.on('message', (m: IngestServerMessage) => {
        if (m.type === 'ready') resolve(m);
      }),
    ),
    exited.then(() => {
      throw new Error('the ingest bench server exited before it was ready');
    }),
  ]);
  return {
    url: ready.url,
    baselineUrl: ready.baselineUrl,
    writers,
    checkpoints,
    cpuMicros: async () => (await ask(child, 'cpu')).micros,
    async close() {
      child.send({ type: 'close' });
      await exited;
      await drop();
    },
  };
}

/** Prepared request bodies, per device in chain order. */
function prepare(env: Env): Buffer[][] {
  return env.writers.map((w) =>
    Array.from({ length: BATCHES_PER_DEVICE }, () =>
      archiveTesting.encodeBatchUpload(w.batch(BATCH, RECORD_BODY_BYTES)),
    ),
  );
}

interface SampleResult {
  readonly rate: number;
  readonly latenciesMs: number[];
}

async function sample(env: Env, target: 'ingest' | 'baseline'): Promise<SampleResult> {
  const bodies = prepare(env);
  const url = target === 'ingest' ? env.url : env.baselineUrl;
  const acks: { at: number; maxIndex: number }[] = [];
  const cpuBefore = REPORT_CPU ? await env.cpuMicros() : 0;
  const start = performance.now();
  await Promise.all(
    env.writers.map(async (w, i) => {
      for (const body of bodies[i]!) {
        const r = await post(url, body, w.device.headers());
        if (r.status !== 200) throw new Error(`ingest failed: ${r.status} ${r.body}`);
        if (target === 'ingest') {
          const idx = (JSON.parse(r.body) as { logIndexes: number[] }).logIndexes;
          acks.push({ at: performance.now(), maxIndex: idx[idx.length - 1]! });
        }
      }
    }),
  );
  let end = performance.now();
  const latenciesMs: number[] = [];
  if (target === 'ingest') {
    const last = Math.max(...acks.map((a) => a.maxIndex));
    while (!env.checkpoints.some((c) => c.size > last)) await new Promise((r) => setTimeout(r, 5));
    end = env.checkpoints.find((c) => c.size > last)!.at;
    if (REPORT_CPU) {
      const answered = Math.max(...acks.map((a) => a.at));
      process.stderr.write(
        `  ingest: last answer after ${(answered - start).toFixed(0)} ms, ` +
          `a checkpoint covered it ${Math.max(0, end - answered).toFixed(0)} ms later\n`,
      );
    }
    // 0 when the integrator covered the batch before its response reached the client.
    for (const a of acks)
      latenciesMs.push(Math.max(0, env.checkpoints.find((c) => c.size > a.maxIndex)!.at - a.at));
  }
  const records = DEVICES * BATCHES_PER_DEVICE * BATCH;
  if (REPORT_CPU) {
    const ms = ((await env.cpuMicros()) - cpuBefore) / 1000;
    process.stderr.write(
      `  ${target}: server CPU ${((ms * 1000) / records).toFixed(1)} ms per 1,000 records\n`,
    );
  }
  return { rate: records / ((end - start) / 1000), latenciesMs };
}

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? 0;
}

function casesFor(kind: 'sqlite' | 'postgres', minRate: number): BenchCase[] {
  let env: Env | null = null;
  const ready = async (): Promise<Env> => (env ??= await setup(kind));
  return [
    {
      kind: 'value',
      name: `archive ingest over HTTP, ${kind} (1 KiB records, batches of 100, to checkpoint)`,
      unit: 'records/s',
      lowerIsBetter: false,
      samples: 3,
      measure: async () => (await sample(await ready(), 'ingest')).rate,
      baseline: {
        name: 'same requests, parse-only route',
        measure: async () => {
          // The baseline's bodies are never stored: rewind the chains so ingest continues where it was.
          const e = await ready();
          const marks = e.writers.map((w) => w.mark());
          const r = await sample(e, 'baseline');
          e.writers.forEach((w, i) => w.reset(marks[i]!));
          return r.rate;
        },
      },
      target: { min: minRate },
    },
    {
      kind: 'value',
      name: `ack → signed checkpoint p99, ${kind}`,
      unit: 'ms',
      lowerIsBetter: true,
      samples: 3,
      measure: async () => p99((await sample(await ready(), 'ingest')).latenciesMs),
      target: { max: 1000 },
      teardown: async () => {
        await env?.close();
        env = null;
      },
    },
  ];
}

/** SQLite always; PostgreSQL when a URL is configured. */
export const cases: BenchCase[] = [
  ...casesFor('sqlite', 20_000),
  ...(PG_URL === '' ? [] : casesFor('postgres', 10_000)),
];
