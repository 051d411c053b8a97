/**
 * A diagnostic preload for the relay bench's server process (not part of the server):
 *   RELAY_BENCH_NODE_ARGS="--import=$PWD/scripts/relay-probe.mjs" RELAY_PROBE_OUT=/tmp/probe.jsonl
 * Every RELAY_PROBE_WINDOW_MS it appends one JSON line with that window's event-loop delay
 * (p50/p99/max), GC pauses (count, total, longest, by kind), the time spent inside each
 * synchronous better-sqlite3 call (by statement, top few), fdatasync times, WAL frames per
 * COMMIT (from the -shm header), the wall time of log-integration and search-index passes,
 * device reads as their callers see them (queue and sync waits included), and each relay
 * job's phases (queued, transaction body, COMMIT + durability, answer order). It only
 * observes: the wrapped calls behave as before. RELAY_PROBE_DIST names another build's
 * packages/server/dist when that build is the one probed (RELAY_BENCH_SERVER).
 */
import { appendFileSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';

const OUT = process.env.RELAY_PROBE_OUT ?? '/tmp/relay-probe.jsonl';
// RELAY_PROBE_TIMELINE=<file>: one JSON line per fdatasync and per checkpoint-worker pass
// ({k, s: start ms, d: duration ms, …}), to see whether slow syncs overlap checkpoints.
const TIMELINE = process.env.RELAY_PROBE_TIMELINE;
const timeline = [];
const mark = (k, s, extra) => {
  if (TIMELINE !== undefined)
    timeline.push({
      k,
      s: Math.round(s * 10) / 10,
      d: Math.round((performance.now() - s) * 10) / 10,
      ...extra,
    });
};
const WINDOW_MS = Number(process.env.RELAY_PROBE_WINDOW_MS ?? 1000);
const require = createRequire(new URL('../packages/server/package.json', import.meta.url));
const Database = require('better-sqlite3');

const eld = monitorEventLoopDelay({ resolution: 1 });
eld.enable();

let gc = { n: 0, total: 0, max: 0, kinds: {} };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.n++;
    gc.total += e.duration;
    gc.max = Math.max(gc.max, e.duration);
    const k = String(e.detail?.kind ?? e.kind);
    gc.kinds[k] = (gc.kinds[k] ?? 0) + e.duration;
    if (TIMELINE !== undefined && e.duration > 5)
      timeline.push({
        k: 'gc',
        s: Math.round(e.startTime * 10) / 10,
        d: Math.round(e.duration * 10) / 10,
        kind: k,
      });
  }
}).observe({ entryTypes: ['gc'] });

/** Per-label: count, total ms, max ms, calls over 5 ms. */
let sql = new Map();
function note(label, ms) {
  let s = sql.get(label);
  if (s === undefined) sql.set(label, (s = { n: 0, total: 0, max: 0, over5: 0 }));
  s.n++;
  s.total += ms;
  if (ms > s.max) s.max = ms;
  if (ms > 5) s.over5++;
}
const labelOf = (text) =>
  text
    .replace(/\s+/g, ' ')
    .replace(/\(\?(, \?)*\)(, \(\?(, \?)*\))*/g, '(…)')
    .slice(0, 70);

const proto = Database.prototype;
const origPrepare = proto.prepare;
let patchedStatement = false;
proto.prepare = function (source) {
  const stmt = origPrepare.call(this, source);
  if (!patchedStatement) {
    patchedStatement = true;
    const sp = Object.getPrototypeOf(stmt);
    for (const m of ['run', 'get', 'all']) {
      const orig = sp[m];
      sp[m] = function (...args) {
        const t = performance.now();
        try {
          return orig.apply(this, args);
        } finally {
          note(`${m} ${labelOf(this.source)}`, performance.now() - t);
        }
      };
    }
  }
  return stmt;
};
// The WAL index (-shm) header: mxFrame (frames in the WAL) at 16, nBackfill (frames copied
// to the database by checkpoints) at 96. Read around each COMMIT of the main connection.
const shmFds = new Map();
const shmBuf = Buffer.alloc(132);
function walState(db) {
  let fd = shmFds.get(db.name);
  if (fd === undefined) {
    try {
      fd = openSync(`${db.name}-shm`, 'r');
    } catch {
      fd = null;
    }
    shmFds.set(db.name, fd);
  }
  if (fd === null || readSync(fd, shmBuf, 0, 132, 0) < 132) return null;
  return { mx: shmBuf.readUInt32LE(16), backfill: shmBuf.readUInt32LE(96) };
}
let wal = {
  commits: 0,
  frames: 0,
  maxFrames: 0,
  restarts: 0,
  maxMx: 0,
  ckptInCommit: 0,
  ckptCommitMs: [],
  slowCommits: [],
};
const origExec = proto.exec;
/** End times of the main connection's COMMITs, in order (the tail breakdown's commit phase). */
let commitCount = 0;
const commitEnds = new Map();
proto.exec = function (text) {
  const commit = text === 'COMMIT';
  const before = commit ? walState(this) : null;
  const t = performance.now();
  try {
    return origExec.call(this, text);
  } finally {
    const ms = performance.now() - t;
    if (commit && !this.readonly) commitEnds.set(++commitCount, t + ms);
    note(`exec ${labelOf(text).slice(0, 20)}`, ms);
    const after = commit ? walState(this) : null;
    if (before !== null && after !== null) {
      wal.commits++;
      const frames = after.mx >= before.mx ? after.mx - before.mx : after.mx;
      if (after.mx < before.mx) {
        wal.restarts++;
        mark('restart', t, { mx: after.mx });
      }
      wal.frames += frames;
      wal.maxFrames = Math.max(wal.maxFrames, frames);
      wal.maxMx = Math.max(wal.maxMx, after.mx);
      if (after.backfill > before.backfill && after.backfill === after.mx) {
        wal.ckptInCommit++;
        wal.ckptCommitMs.push(Math.round(ms));
      }
      if (ms > 10) wal.slowCommits.push([Math.round(ms), frames, before.mx]);
    }
  }
};
const origPragma = proto.pragma;
proto.pragma = function (...args) {
  const t = performance.now();
  try {
    return origPragma.apply(this, args);
  } finally {
    note(`pragma ${String(args[0]).slice(0, 30)}`, performance.now() - t);
  }
};

// fdatasync timing (the WAL sync runs on the thread pool: its wall time, not the loop's).
let sync = { n: 0, total: 0, max: 0 };
{
  const fh = await open(new URL(import.meta.url), 'r');
  const fp = Object.getPrototypeOf(fh);
  await fh.close();
  const orig = fp.datasync;
  fp.datasync = async function () {
    const t = performance.now();
    try {
      return await orig.call(this);
    } finally {
      const ms = performance.now() - t;
      sync.n++;
      sync.total += ms;
      sync.max = Math.max(sync.max, ms);
    }
  };
}

// The same for fdatasync on a kept descriptor (wal-sync.ts KeptFileSync, callback API).
{
  const fs = require('node:fs');
  const orig = fs.fdatasync;
  fs.fdatasync = function (fd, cb) {
    const t = performance.now();
    return orig.call(this, fd, (e) => {
      const ms = performance.now() - t;
      mark('sync', t);
      sync.n++;
      sync.total += ms;
      sync.max = Math.max(sync.max, ms);
      cb(e);
    });
  };
  (await import('node:module')).syncBuiltinESMExports();
}

// Checkpoint-worker passes: each request message to the worker and its reply.
if (TIMELINE !== undefined) {
  // The timeline's times are this process's performance.now(); this line maps them to epoch ms.
  timeline.push({ k: 'origin', s: performance.timeOrigin });
  const { Worker } = await import('node:worker_threads');
  const origPost = Worker.prototype.postMessage;
  const pending = new WeakMap();
  Worker.prototype.postMessage = function (m, ...rest) {
    if (!pending.has(this)) {
      const q = [];
      pending.set(this, q);
      this.on('message', (reply) => {
        const s = q.shift();
        if (s !== undefined) mark('ckpt', s, { log: reply?.log, cp: reply?.checkpointed });
      });
    }
    if (m !== 'close') pending.get(this).push(performance.now());
    return origPost.call(this, m, ...rest);
  };
  setInterval(() => {
    if (timeline.length > 0)
      appendFileSync(
        TIMELINE,
        timeline
          .splice(0)
          .map((e) => JSON.stringify(e))
          .join('\n') + '\n',
      );
  }, 1000).unref();
}

// Synchronous stretches of the periodic passes: time from each await-resume to the next
// suspension is not observable here, so record each pass's wall time and loop delay seen
// during it instead (the loop-delay max inside a pass window says how long it blocked).
// RELAY_PROBE_DIST=<a build's dist folder> when the probed server is another build (RELAY_BENCH_SERVER).
const DIST = process.env.RELAY_PROBE_DIST ?? new URL('../packages/server/dist', import.meta.url).pathname;
const server = await import(`${DIST}/index.js`);
let passes = new Map();
function wrapAsync(cls, method, label) {
  const orig = cls.prototype[method];
  cls.prototype[method] = async function (...args) {
    const t = performance.now();
    try {
      return await orig.apply(this, args);
    } finally {
      const ms = performance.now() - t;
      let s = passes.get(label);
      if (s === undefined) passes.set(label, (s = { n: 0, total: 0, max: 0 }));
      s.n++;
      s.total += ms;
      s.max = Math.max(s.max, ms);
    }
  };
}
wrapAsync(server.LogIntegrator, 'integrateOrg', 'integrateOrg');

// Relay batch phases, per job: q = enqueue → its batch starts, w = batch start → written
// (transaction body, before COMMIT), c = written → COMMIT done and durable, s = → answered
// (after the previous batch settled). Recorded per job so percentiles weigh jobs.
const { GroupCommitter } = await import(`${DIST}/relay/group-commit.js`);
// Device reads (the socket's revocation re-check, auth): caller-seen latency, queue and sync waits included.
const { SqlDeviceStore } = await import(`${DIST}/store/directory-stores.js`);
let deviceGets = [];
{
  const orig = SqlDeviceStore.prototype.get;
  SqlDeviceStore.prototype.get = async function (...args) {
    const t = performance.now();
    try {
      return await orig.apply(this, args);
    } finally {
      deviceGets.push(performance.now() - t);
    }
  };
}
const enq = new WeakMap();
// The bench client writes its send time (timeOrigin + now) into the content's first 8 bytes:
// read it as the job is queued, so a job's time from the client's send is known here.
const { RelayService } = await import(`${DIST}/relay/relay-service.js`);
const sentAt = new WeakMap();
let currentSentAt = null;
{
  const orig = RelayService.prototype.sendDecoded;
  RelayService.prototype.sendDecoded = function (sender, recipient, envelopes) {
    const c = envelopes[0]?.content;
    currentSentAt = c !== undefined && c.length >= 8 ? c.readDoubleLE(0) - performance.timeOrigin : null;
    try {
      return orig.call(this, sender, recipient, envelopes);
    } finally {
      currentSentAt = null;
    }
  };
}
/** Per job of the window: [client send, queued, batch start, written, COMMIT done, durable, handed out]. */
let jobTimes = [];
let phases = { q: [], w: [], c: [], s: [], total: [], batch: [] };
const origRun = GroupCommitter.prototype.run;
GroupCommitter.prototype.run = function (job, meta) {
  enq.set(job, performance.now());
  if (currentSentAt !== null) sentAt.set(job, currentSentAt);
  return origRun.call(this, job, meta);
};
const origAttempt = GroupCommitter.prototype.attempt;
const wrapped = new WeakSet();
GroupCommitter.prototype.attempt = async function (batch, folded, written, before) {
  if (!wrapped.has(this)) {
    // Transactions commit and become durable in order: the i-th resolution is the i-th attempt's.
    wrapped.add(this);
    const st = this.stores;
    const fifo = [];
    this.__fifo = fifo;
    this.stores = Object.create(st, {
      withTransaction: {
        value: (fn, onCommitted) =>
          st
            .withTransaction(async (tx) => {
              const v = await fn(tx);
              // The next COMMIT of the main connection is this transaction's.
              if (fifo.length > 0) fifo.find((x) => x.commitNo === undefined).commitNo = commitCount + 1;
              return v;
            }, onCommitted)
            .finally(() => {
              const rec = fifo.shift();
              if (rec !== undefined) rec.td = performance.now();
            }),
      },
    });
  }
  const rec = { td: null };
  this.__fifo.push(rec);
  const t0 = performance.now();
  let tw = null;
  const w2 = () => {
    tw = performance.now();
    written?.();
  };
  const out = await origAttempt.call(this, batch, folded, w2, before);
  const t3 = performance.now();
  tw ??= t3;
  const td = rec.td ?? t3;
  phases.batch.push(batch.length);
  for (const p of batch) {
    const e = enq.get(p.job);
    if (e === undefined) continue;
    phases.q.push(t0 - e);
    phases.w.push(tw - t0);
    phases.c.push(td - tw);
    phases.s.push(t3 - td);
    phases.total.push(t3 - e);
    const c = sentAt.get(p.job);
    const tc = commitEnds.get(rec.commitNo) ?? tw;
    if (c !== undefined) jobTimes.push([c, e, t0, tw, tc, td, t3]);
  }
  if (rec.commitNo !== undefined) commitEnds.delete(rec.commitNo);
  return out;
};
const pct = (xs, p) =>
  xs.length === 0 ? null : r([...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)]);
wrapAsync(server.SearchIndexer, 'indexOrg', 'indexOrg');

const r = (x) => Math.round(x * 100) / 100;
/**
 * The slowest 1 % of the window's jobs by client send → handed out, and the mean of each
 * phase over them (and over all jobs): in = client send → queued (network, loop, frame
 * parsing), q = queued → batch start, w = transaction body, commit = COMMIT call,
 * sync = COMMIT → durable, out = durable → handed out (waiting for the previous batch, then
 * the hand-out loop itself).
 */
function tailBreakdown(jobs) {
  if (jobs.length === 0) return null;
  const rows = jobs.map(([c, e, t0, tw, tc, td, t3]) => ({
    total: t3 - c,
    in: e - c,
    q: t0 - e,
    w: tw - t0,
    commit: tc - tw,
    sync: td - tc,
    out: t3 - td,
  }));
  rows.sort((a, b) => a.total - b.total);
  const mean = (xs) => {
    const o = {};
    for (const k of Object.keys(xs[0])) o[k] = r(xs.reduce((a, x) => a + x[k], 0) / xs.length);
    return o;
  };
  const slow = rows.slice(Math.floor(rows.length * 0.99));
  return {
    n: rows.length,
    p50: r(rows[Math.floor((rows.length - 1) * 0.5)].total),
    p99: r(slow[0].total),
    all: mean(rows),
    slow: mean(slow),
  };
}
// Loop stalls: a 2 ms timer on the main thread; a gap over 20 ms is split, from the thread's
// /proc schedstat, into time it ran (JavaScript, GC, synchronous calls), time it waited for a
// CPU (the scheduler), and the rest (asleep in a blocking system call: disk, locks). Linux only.
if (TIMELINE !== undefined && process.platform === 'linux') {
  const fd = openSync('/proc/thread-self/schedstat', 'r');
  const buf = Buffer.alloc(128);
  const read = () => {
    const n = readSync(fd, buf, 0, 128, 0);
    const [run, wait] = buf.toString('latin1', 0, n).split(' ').map(Number);
    return [run / 1e6, wait / 1e6];
  };
  let last = performance.now();
  let [lastRun, lastWait] = read();
  setInterval(() => {
    const now = performance.now();
    const [run, wait] = read();
    const gap = now - last;
    if (gap > 20) {
      const ran = run - lastRun;
      const waited = wait - lastWait;
      timeline.push({
        k: 'stall',
        s: Math.round(last * 10) / 10,
        d: Math.round(gap * 10) / 10,
        ran: Math.round(ran * 10) / 10,
        waited: Math.round(waited * 10) / 10,
        asleep: Math.round((gap - ran - waited) * 10) / 10,
      });
    }
    last = now;
    lastRun = run;
    lastWait = wait;
  }, 2).unref();
}

let start = performance.now();
setInterval(() => {
  const now = performance.now();
  const top = [...sql.entries()].sort((a, b) => b[1].total - a[1].total).slice(0, 12);
  const line = {
    t: r((now - start) / 1000),
    cpu: process.cpuUsage(),
    eld: {
      p50: r(eld.percentile(50) / 1e6),
      p99: r(eld.percentile(99) / 1e6),
      max: r(eld.max / 1e6),
      mean: r(eld.mean / 1e6),
    },
    gc: { n: gc.n, total: r(gc.total), max: r(gc.max), kinds: gc.kinds },
    sync: { n: sync.n, mean: r(sync.total / Math.max(1, sync.n)), max: r(sync.max) },
    passes: Object.fromEntries(
      [...passes].map(([k, v]) => [k, { n: v.n, total: r(v.total), max: r(v.max) }]),
    ),
    wal,
    deviceGet: [deviceGets.length, pct(deviceGets, 0.5), pct(deviceGets, 0.99), pct(deviceGets, 1)],
    jobs: Object.fromEntries(
      Object.entries(phases).map(([k, xs]) => [k, [xs.length, pct(xs, 0.5), pct(xs, 0.99), pct(xs, 1)]]),
    ),
    tail: tailBreakdown(jobTimes),
    sqlTotal: r([...sql.values()].reduce((a, s) => a + s.total, 0)),
    sql: top.map(([k, v]) => [k, v.n, r(v.total), r(v.max), v.over5]),
  };
  appendFileSync(OUT, JSON.stringify(line) + '\n');
  eld.reset();
  gc = { n: 0, total: 0, max: 0, kinds: {} };
  sql = new Map();
  sync = { n: 0, total: 0, max: 0 };
  wal = {
    commits: 0,
    frames: 0,
    maxFrames: 0,
    restarts: 0,
    maxMx: 0,
    ckptInCommit: 0,
    ckptCommitMs: [],
    slowCommits: [],
  };
  passes = new Map();
  phases = { q: [], w: [], c: [], s: [], total: [], batch: [] };
  deviceGets = [];
  jobTimes = [];
}, WINDOW_MS).unref();
