/**
 * The relay with 1,000 connected devices (issue 3 targets), on loopback with real sockets.
 *
 * The Custos server runs as its own process (`startServer`, SQLite, WAL, synchronous=FULL,
 * the log integrator running), seeded with one organisation of 1,000 users with one device
 * each. This process holds 1,000 `ws` clients (source addresses spread over 127.0.0.2–251,
 * as 1,000 real devices would be, so the per-address limit on upgrades does not apply to
 * all of them at once). Clients send messages as `send` frames on their sockets; the
 * server commits each envelope (and its relay receipt) before it answers and pushes it to
 * the recipient's socket; recipients acknowledge with `ack` frames (with a reqId, so the
 * delete is confirmed committed).
 *
 * - "delivered+acked": a sample is 20,000 messages (20 per device, pipelined) timed until
 *   every one is answered, delivered and its acknowledgement committed. Target ≥ 10,000/s.
 * - "p99 send→delivery @5,000/s": 5,000 messages/s offered for 2 s from rotating devices;
 *   latency from the send frame to the envelope frame at the recipient. Target ≤ 50 ms.
 * - "RSS, 1,000 idle sockets": the server process's resident memory after the sockets
 *   connected and authenticated, before any traffic.
 *
 * Baseline for each: a bare `ws` server (own process) forwarding the same frames to the
 * recipient socket and answering `sent`/`acked` at once — no auth checks, no storage.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore, type DeviceId, type OrgId, type UserId } from '@custos/server';
import WebSocket from 'ws';
import type { BenchCase } from '../harness.js';

const DEVICES = 1000;
const MESSAGES_PER_SAMPLE = 20_000;
const CONTENT_BYTES = 160;
const OFFERED_RATE = 5000;
const LATENCY_RUN_MS = 2000;
const TICK_MS = 10;

const SERVER_SCRIPT = `
import { loadConfig, startServer } from '@custos/server';
const config = loadConfig({ argv: ['--data', process.env.RELAY_BENCH_DATA, '--listen', '127.0.0.1:0', '--log-level', 'error'], env: {}, cwd: process.cwd() });
await startServer(config, { stdout: process.stdout, stderr: process.stderr });
`;

// The baseline: forward frames between sockets, no checks, no storage.
const BASELINE_SCRIPT = `
import { WebSocketServer } from 'ws';
import { randomBytes } from 'node:crypto';
const sockets = new Map();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('connection', (ws) => {
  let me = null;
  ws.on('message', (data) => {
    const f = JSON.parse(String(data));
    if (f.type === 'auth') { me = f.deviceId; sockets.set(me, ws); ws.send(JSON.stringify({ type: 'ready' })); return; }
    if (f.type === 'ack') { if (f.reqId !== undefined) ws.send(JSON.stringify({ type: 'acked', reqId: f.reqId })); return; }
    if (f.type === 'send') {
      for (const e of f.message.envelopes) {
        const to = sockets.get(e.deviceId);
        const envelope = { id: randomBytes(16).toString('base64url'), sender: { deviceId: me }, type: e.type, content: e.content, serverTime: Date.now() };
        if (to) to.send(JSON.stringify({ type: 'envelope', envelope }));
      }
      ws.send(JSON.stringify({ type: 'sent', reqId: f.reqId }));
    }
  });
});
wss.on('listening', () => process.stdout.write('Listening on http://127.0.0.1:' + wss.address().port + '\\n'));
`;

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
}

async function spawnServer(script: string, env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /Listening on (http:\/\/[0-9.:]+)/.exec(out);
      if (m?.[1] !== undefined) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`bench server exited (${code})`)));
  });
  return { child, url };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

interface DeviceCreds {
  readonly deviceId: string;
  readonly userId: string;
  readonly token: string;
}

/** Seeds an org with DEVICES users of one device each, with bearer tokens, straight into the store. */
async function seed(dataDir: string): Promise<{ orgId: string; devices: DeviceCreds[] }> {
  const stores = await openStore({ kind: 'sqlite', path: join(dataDir, 'custos.sqlite') });
  const id = () => randomBytes(16).toString('base64url');
  const orgId = id() as OrgId;
  const now = Date.now();
  const out: DeviceCreds[] = [];
  await stores.withTransaction(async (tx) => {
    await tx.orgs.create({
      orgId,
      name: 'Bench Agency',
      signingPublicKey: randomBytes(32),
      signingKeyFingerprint: randomBytes(32).toString('base64url'),
      rootArchivePublicKey: randomBytes(32),
      keyManager: { delegation: randomBytes(64), notBefore: 0, notAfter: now + 3_600_000 },
      officerQuorum: 1,
      officers: [{ index: 0, publicKey: randomBytes(32) }],
      createdAt: now,
    });
    for (let i = 0; i < DEVICES; i++) {
      const userId = id() as UserId;
      const deviceId = id() as DeviceId;
      await tx.users.create(orgId, { userId, role: 'member', retentionClass: 'standard', createdAt: now });
      await tx.devices.create(orgId, {
        deviceId,
        userId,
        identityKey: randomBytes(33),
        registrationId: 1,
        createdAt: now,
      });
      const token = `ct1.${orgId}.${randomBytes(32).toString('base64url')}`;
      await tx.authTokens.create(orgId, {
        tokenHash: createHash('sha256').update(token).digest(),
        deviceId,
        createdAt: now,
        expiresAt: now + 14 * 60_000,
      });
      out.push({ deviceId, userId, token });
    }
  });
  await stores.close();
  return { orgId, devices: out };
}

/** 1,000 clients on one server, with counters the cases read. */
class Fleet {
  readonly sockets: WebSocket[] = [];
  delivered = 0;
  sentAnswered = 0;
  acksPending = 0;
  latencies: number[] = [];
  private ackReq = 0;
  private waiters: (() => void)[] = [];

  constructor(
    readonly orgId: string,
    readonly devices: readonly DeviceCreds[],
  ) {}

  async connect(url: string): Promise<void> {
    const wsUrl = `${url.replace(/^http/, 'ws')}/v1/ws`;
    for (let i = 0; i < this.devices.length; i += 50) {
      await Promise.all(this.devices.slice(i, i + 50).map((d, j) => this.open(wsUrl, d, i + j)));
    }
  }

  private async open(wsUrl: string, d: DeviceCreds, i: number): Promise<void> {
    const ws = new WebSocket(wsUrl, { localAddress: `127.0.0.${2 + (i % 250)}`, perMessageDeflate: false });
    this.sockets[i] = ws;
    const pendingAcks: string[] = [];
    let flushQueued = false;
    const flush = (): void => {
      flushQueued = false;
      if (pendingAcks.length === 0) return;
      this.acksPending++;
      ws.send(JSON.stringify({ type: 'ack', ids: pendingAcks.splice(0), reqId: ++this.ackReq }));
    };
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.on('message', (data: Buffer) => {
        const f = JSON.parse(data.toString('utf8')) as {
          type: string;
          envelope?: { id: string; content: string };
          error?: { code: string };
        };
        if (f.type === 'ready') return resolve();
        if (f.type === 'envelope' && f.envelope !== undefined) {
          const sentAt = Buffer.from(f.envelope.content, 'base64url').readDoubleLE(0);
          this.latencies.push(performance.now() - sentAt);
          this.delivered++;
          pendingAcks.push(f.envelope.id);
          if (!flushQueued) {
            flushQueued = true;
            setImmediate(flush);
          }
        } else if (f.type === 'sent') this.sentAnswered++;
        else if (f.type === 'acked') this.acksPending--;
        else if (f.type === 'error') throw new Error(`bench: server error ${f.error?.code}`);
        else return;
        this.wake();
      });
      ws.once('open', () => ws.send(JSON.stringify({ type: 'auth', token: d.token, deviceId: d.deviceId })));
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Sends one message from device `from` to device `to`. */
  send(from: number, to: number, reqId: number): void {
    const content = randomBytes(CONTENT_BYTES);
    content.writeDoubleLE(performance.now(), 0);
    const target = this.devices[to]!;
    this.sockets[from]!.send(
      JSON.stringify({
        type: 'send',
        reqId,
        message: {
          recipient: { orgId: this.orgId, userId: target.userId },
          envelopes: [{ deviceId: target.deviceId, type: 1, content: content.toString('base64url') }],
        },
      }),
    );
  }

  /** Resolves when `n` messages have been answered and delivered and every ack committed. */
  async settle(n: number): Promise<void> {
    while (this.sentAnswered < n || this.delivered < n || this.acksPending > 0) {
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  reset(): void {
    this.delivered = 0;
    this.sentAnswered = 0;
    this.latencies = [];
  }

  close(): void {
    for (const s of this.sockets) s.terminate();
  }
}

interface Env {
  readonly custos: Server;
  readonly bare: Server;
  readonly custosFleet: Fleet;
  readonly bareFleet: Fleet;
  readonly dir: string;
}

let env: Env | null = null;

async function setup(): Promise<Env> {
  if (env !== null) return env;
  const dir = mkdtempSync(join(tmpdir(), 'custos-bench-relay-'));
  const { orgId, devices } = await seed(dir);
  const custos = await spawnServer(SERVER_SCRIPT, { RELAY_BENCH_DATA: dir });
  const bare = await spawnServer(BASELINE_SCRIPT, {});
  const custosFleet = new Fleet(orgId, devices);
  const bareFleet = new Fleet(orgId, devices);
  await custosFleet.connect(custos.url);
  await bareFleet.connect(bare.url);
  env = { custos, bare, custosFleet, bareFleet, dir };
  return env;
}

function teardown(): void {
  if (env === null) return;
  env.custosFleet.close();
  env.bareFleet.close();
  env.custos.child.kill('SIGTERM');
  env.bare.child.kill('SIGTERM');
  rmSync(env.dir, { recursive: true, force: true });
  env = null;
}

let reqId = 0;

/** Throughput: MESSAGES_PER_SAMPLE messages, 20 per device, pipelined; resolves to the count. */
async function throughput(fleet: Fleet): Promise<number> {
  fleet.reset();
  const n = MESSAGES_PER_SAMPLE;
  for (let i = 0; i < n; i++) {
    const from = i % DEVICES;
    fleet.send(from, (from + 1 + ((i * 7919) % (DEVICES - 1))) % DEVICES, ++reqId);
  }
  await fleet.settle(n);
  return n;
}

/** Latency: OFFERED_RATE messages/s for LATENCY_RUN_MS; resolves to the p99 in ms. */
async function latencyP99(fleet: Fleet): Promise<number> {
  fleet.reset();
  const perTick = (OFFERED_RATE * TICK_MS) / 1000;
  const ticks = LATENCY_RUN_MS / TICK_MS;
  const start = performance.now();
  let sent = 0;
  for (let t = 0; t < ticks; t++) {
    const due = start + t * TICK_MS;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let k = 0; k < perTick; k++) {
      const from = sent % DEVICES;
      fleet.send(from, (from + 1 + ((sent * 7919) % (DEVICES - 1))) % DEVICES, ++reqId);
      sent++;
    }
  }
  await fleet.settle(sent);
  const sorted = [...fleet.latencies].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length * 0.99)] ?? Infinity;
}

/** The relay cases. */
export const cases: BenchCase[] = [
  {
    kind: 'value',
    name: 'relay: server RSS, 1,000 idle authenticated sockets',
    unit: 'MiB',
    lowerIsBetter: true,
    samples: 1,
    setup: async () => {
      await setup();
      await new Promise((r) => setTimeout(r, 1000));
    },
    measure: () => rssMiB(env!.custos.child.pid!),
    baseline: { name: 'bare ws server', measure: () => rssMiB(env!.bare.child.pid!) },
    target: { max: 300 },
  },
  {
    kind: 'value',
    name: 'relay: p99 send→delivery at 5,000 msg/s',
    unit: 'ms',
    lowerIsBetter: true,
    samples: 3,
    setup: async () => void (await setup()),
    measure: () => latencyP99(env!.custosFleet),
    baseline: { name: 'bare ws forwarder', measure: () => latencyP99(env!.bareFleet) },
    target: { max: 50 },
  },
  {
    kind: 'rate',
    name: 'relay: envelopes delivered+acked (1,000 sockets)',
    unit: 'envelopes/s',
    samples: 5,
    setup: async () => void (await setup()),
    run: () => throughput(env!.custosFleet),
    baseline: { name: 'bare ws forwarder', run: () => throughput(env!.bareFleet) },
    target: { min: 10_000 },
    teardown,
  },
];
