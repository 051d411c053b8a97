/**
 * Shared by the client end-to-end tests: a real `custos server` process (built dist), an
 * organisation created through the API with real signed key documents (org signing key,
 * key-manager delegation, bucket keys whose private halves the test keeps to play the
 * officer), and enrolled client profiles.
 */
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  encodeDeterministicCbor,
  sealOfficerDeviceBinding,
  deriveBucketIndexKeyBytes,
  generateBucketKeyPair,
  generateIndexSecret,
  type BucketKeyPair,
  sealBucketKeyDocument,
  sealKeyManagerDelegation,
} from '@custos/core';
import { CustosClient, sealIndexKeyForDevice } from '@custos/client';

const MAIN = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));
// A hang guard, not a speed check: one CI run saw a fresh server not answer within 60 s while
// three e2e files loaded both cores.
const STARTUP_TIMEOUT_MS = 120_000;
const DAY = 24 * 60 * 60 * 1000;

/** A running server process. */
export interface ServerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly url: string;
  readonly dataDir: string;
  readonly bootstrapToken: string;
  stdout: string;
  stderr: string;
}

function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CUSTOS_')));
}

/** Extra arguments for a test's server process: flags for node itself, and for `custos server`. */
export interface ServerArgs {
  readonly nodeArgs?: readonly string[];
  readonly serverArgs?: readonly string[];
}

/** Starts `custos server` on a random loopback port with its data in `dir/data`. */
export function startServer(dir: string, extra: ServerArgs = {}): Promise<ServerProcess> {
  return spawnServer(join(dir, 'data'), join(dir, 'bootstrap.txt'), '127.0.0.1:0', extra, true);
}

/** Starts `custos server` on `dir/data`, which already holds an organisation (so no bootstrap token is printed). */
export function startServerWithOrg(dir: string, extra: ServerArgs = {}): Promise<ServerProcess> {
  return spawnServer(join(dir, 'data'), join(dir, 'bootstrap.txt'), '127.0.0.1:0', extra, false);
}

/**
 * Starts `custos server` again on `s`'s data folder and address, after `s.child` exited
 * (a crash test): the same URL, so enrolled clients reach it unchanged.
 */
export function restartServer(s: ServerProcess, extra: ServerArgs = {}): Promise<ServerProcess> {
  const listen = new URL(s.url).host;
  return spawnServer(s.dataDir, join(s.dataDir, '..', 'bootstrap.txt'), listen, extra, false).then((r) => ({
    ...r,
    bootstrapToken: s.bootstrapToken,
  }));
}

/** Spawns the server; resolves once it listens (and, when `fresh`, printed its bootstrap token). */
function spawnServer(
  dataDir: string,
  bootstrapFile: string,
  listen: string,
  extra: ServerArgs,
  fresh: boolean,
): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      ...(extra.nodeArgs ?? []),
      MAIN,
      'server',
      '--data',
      dataDir,
      '--listen',
      listen,
      '--bootstrap-out',
      bootstrapFile,
      // Every test device shares 127.0.0.1, so one address stands for many devices here.
      '--address-rate-limit',
      '1000',
      ...(extra.serverArgs ?? []),
    ],
    { env: cleanEnv() },
  );
  const s = { child, url: '', dataDir, bootstrapToken: '', stdout: '', stderr: '' };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start: ${s.stderr}`)),
      STARTUP_TIMEOUT_MS,
    );
    child.stdout.on('data', (d: Buffer) => {
      s.stdout += d.toString();
      const m = /Listening on (https?:\/\/\S+)/.exec(s.stdout);
      if (m !== null && (!fresh || /The token works once/.test(s.stdout))) {
        clearTimeout(timer);
        s.url = m[1]!;
        if (fresh) s.bootstrapToken = readFileSync(bootstrapFile, 'utf8').trim();
        resolve(s);
      }
    });
    child.stderr.on('data', (d: Buffer) => (s.stderr += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${s.stderr}`));
    });
  });
}

/** Stops the server with SIGTERM. */
export function stopServer(s: ServerProcess): Promise<void> {
  // A process killed by a signal has no exit code but a signal code.
  if (s.child.exitCode !== null || s.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    s.child.removeAllListeners('exit');
    s.child.on('exit', () => resolve());
    s.child.kill('SIGTERM');
  });
}

/** The organisation the test plays key holder of. */
export interface TestOrg {
  readonly orgId: string;
  readonly name: string;
  readonly signingKey: KeyObject;
  readonly keyManager: KeyObject;
  readonly bucketId: string;
  readonly bucket: BucketKeyPair;
  readonly indexSecret: Uint8Array;
  readonly admin: CustosClient;
  /** A device of an officer user, bound to officer 0. */
  readonly officer: CustosClient;
  /** Officer 0's signing key (its public half is in the org's officer list). */
  readonly officerSigningKey: KeyObject;
}

const raw = (k: KeyObject): Uint8Array =>
  new Uint8Array(Buffer.from(k.export({ format: 'jwk' }).x!, 'base64url'));

/** A temp folder. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Creates the organisation through the API with real key documents, enrols its admin and
 * an officer (as client profiles under `dir`), and registers one `standard` bucket for now.
 */
export async function createOrg(
  server: ServerProcess,
  dir: string,
  name = 'Example Agency',
): Promise<TestOrg> {
  const now = Date.now();
  const signing = generateKeyPairSync('ed25519');
  const km = generateKeyPairSync('ed25519');
  const window = { notBefore: now - DAY, notAfter: now + 365 * DAY };
  const delegation = sealKeyManagerDelegation({ key: raw(km.publicKey), ...window }, signing.privateKey);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  // The officer's signing key: their device acts as an officer only once bound with it.
  const officerKey = generateKeyPairSync('ed25519');
  const officerDoc = encodeDeterministicCbor({
    v: 1,
    typ: 'officer-key',
    hpke: randomBytes(32),
    sig: raw(officerKey.publicKey),
  });
  const res = await fetch(`${server.url}/v1/orgs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      bootstrapToken: server.bootstrapToken,
      name,
      signingPublicKey: b64(raw(signing.publicKey)),
      rootArchivePublicKey: b64(randomBytes(32)),
      keyManager: { delegation: b64(delegation), ...window },
      officers: [{ publicKey: b64(officerDoc) }],
      officerQuorum: 1,
    }),
  });
  if (res.status !== 201) throw new Error(`org create failed: ${await res.text()}`);
  const created = (await res.json()) as { orgId: string; enrolmentCode: string };
  const admin = await CustosClient.enrol(join(dir, 'admin'), {
    serverUrl: server.url,
    code: created.enrolmentCode,
    protection: { kind: 'file' },
  });
  const bucket = await generateBucketKeyPair();
  const bucketId = `standard-${new Date(now).toISOString().slice(0, 7)}`;
  const document = sealBucketKeyDocument(
    {
      org: created.orgId,
      bucket: bucketId,
      retentionClass: 'standard',
      period: new Date(now).toISOString().slice(0, 7),
      notBefore: now - DAY,
      notAfter: now + 30 * DAY,
      publicKey: bucket.publicKey.toBytes(),
    },
    km.privateKey,
  );
  await admin.api.request('POST', `/v1/orgs/${created.orgId}/buckets`, { body: { document: b64(document) } });
  const officer = await enrolUser(server, admin, join(dir, 'officer'), 'officer');
  await officer.api.request('PUT', `/v1/orgs/${created.orgId}/officer-binding`, {
    body: {
      statement: officerBinding(
        created.orgId,
        officer.profile.deviceId,
        officer.identityKey,
        officerKey.privateKey,
      ),
    },
  });
  const org: TestOrg = {
    orgId: created.orgId,
    name,
    signingKey: signing.privateKey,
    keyManager: km.privateKey,
    bucketId,
    bucket,
    indexSecret: generateIndexSecret(),
    admin,
    officer,
    officerSigningKey: officerKey.privateKey,
  };
  for (const c of [admin, officer]) await deliverIndexKey(org, c);
  return org;
}

/**
 * The binding statement (base64url) by which officer 0 (`signingKey`) makes device `deviceId`
 * act for them (docs/officers.md §2), as the officer's console signs it; for
 * PUT /v1/orgs/:orgId/officer-binding, sent by that device.
 */
export function officerBinding(
  orgId: string,
  deviceId: string,
  identityKey: Uint8Array,
  signingKey: KeyObject,
): string {
  const statement = sealOfficerDeviceBinding(
    {
      org: orgId,
      deviceId,
      identityKeyHash: createHash('sha256').update(identityKey).digest(),
      officerIndex: 0,
      issuedAt: Date.now(),
    },
    signingKey,
  );
  return Buffer.from(statement).toString('base64url');
}

/** Creates a user with `role`, issues a code as admin, and enrols a client profile in `dir`. */
export async function enrolUser(
  server: ServerProcess,
  admin: CustosClient,
  dir: string,
  role: 'member' | 'officer' = 'member',
): Promise<CustosClient> {
  const orgId = admin.profile.orgId;
  const user = (await admin.api.request('POST', `/v1/orgs/${orgId}/users`, { body: { role } })) as {
    userId: string;
  };
  return enrolDevice(server, admin, dir, user.userId);
}

/**
 * Enrols one more device of `owner`'s user with a link code from `owner`, as `custos devices
 * link` does (an admin's code cannot add a device to a user who has one: USER_HAS_DEVICE).
 */
export async function linkDevice(
  server: ServerProcess,
  owner: CustosClient,
  dir: string,
): Promise<CustosClient> {
  const { code } = await owner.linkCode();
  return CustosClient.enrol(dir, { serverUrl: server.url, code, protection: { kind: 'file' } });
}

/** Enrols a device of an existing user who has none (an admin's code). */
export async function enrolDevice(
  server: ServerProcess,
  admin: CustosClient,
  dir: string,
  userId: string,
): Promise<CustosClient> {
  const orgId = admin.profile.orgId;
  const code = (await admin.api.request('POST', `/v1/orgs/${orgId}/users/${userId}/enrolment-codes`, {
    body: {},
  })) as { enrolmentCode: string };
  return CustosClient.enrol(dir, {
    serverUrl: server.url,
    code: code.enrolmentCode,
    protection: { kind: 'file' },
  });
}

/** Plays the officer: seals the bucket's index key to `client`'s device, then the device fetches it. */
export async function deliverIndexKey(org: TestOrg, client: CustosClient): Promise<void> {
  const key = deriveBucketIndexKeyBytes(org.indexSecret, org.bucketId);
  const blob = sealIndexKeyForDevice(
    client.identityKey,
    org.orgId,
    org.bucketId,
    client.profile.deviceId,
    key,
  );
  await org.officer.api.request(
    'PUT',
    `/v1/orgs/${org.orgId}/buckets/${org.bucketId}/index-keys/${client.profile.deviceId}`,
    { body: { blob: Buffer.from(blob).toString('base64url') } },
  );
  await client.refreshKeys();
}

/** One test file's world: a server process, an organisation and enrolled users. */
export interface ClientWorld<U extends string> {
  readonly dir: string;
  readonly server: ServerProcess;
  readonly org: TestOrg;
  /** The users asked for, each a client profile in `dir/<name>` holding the bucket's index key. */
  readonly users: Readonly<Record<U, CustosClient>>;
  /** Closes `also` and every client above, stops the server and removes `dir`. */
  close(also?: readonly (CustosClient | undefined)[]): Promise<void>;
}

/**
 * Starts a server in a fresh temp folder, creates the organisation and enrols `users`
 * (one device each, index key delivered). On failure it cleans up what it started.
 */
export async function startWorld<const U extends string>(
  prefix: string,
  users: readonly U[] = [],
): Promise<ClientWorld<U>> {
  const dir = tempDir(prefix);
  let server: ServerProcess | undefined;
  const clients: CustosClient[] = [];
  const close = async (also: readonly (CustosClient | undefined)[] = []): Promise<void> => {
    for (const c of new Set([...also, ...clients])) await c?.close().catch(() => undefined);
    if (server !== undefined) await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    server = await startServer(dir);
    const org = await createOrg(server, join(dir, 'org'));
    clients.push(org.admin, org.officer);
    const enrolled = {} as Record<U, CustosClient>;
    for (const name of users) {
      const c = await enrolUser(server, org.admin, join(dir, name));
      clients.push(c);
      enrolled[name] = c;
    }
    for (const name of users) await deliverIndexKey(org, enrolled[name]);
    return { dir, server, org, users: enrolled, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The path of a fetch request (for test fetches that intercept one route). */
export function requestPath(input: string | URL | Request): string {
  return new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url).pathname;
}

/**
 * What a test fetch does to the next `PUT /v1/messages`: 'lose' lets it reach the server and
 * loses the answer (connection reset); 'offline' fails it before it leaves (ECONNREFUSED);
 * 'unavailable' answers 503 UNAVAILABLE as the relay does while shutting down; a number
 * answers that status without reaching the server — 429 RATE_LIMITED as the server's limiter
 * answers it, 409 MISMATCHED_DEVICES with no device named (what a server that forgot the key
 * answers after a device-list change), any other status with a proxy's non-JSON body.
 */
export type SendFault = 'pass' | 'lose' | 'offline' | 'unavailable' | 429 | 409 | 413 | 502 | 503;

/**
 * A fetch that applies `faults` in order to `PUT /v1/messages` requests (`pass`: answered as
 * usual; none left: plain fetch).
 */
export function faultySendFetch(faults: SendFault[]): typeof fetch {
  return async (input, init) => {
    const fault =
      init?.method === 'PUT' && requestPath(input) === '/v1/messages' ? faults.shift() : undefined;
    if (fault === 'offline')
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
      });
    if (fault === 'unavailable')
      return new Response(
        JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'the server is shutting down' } }),
        { status: 503, headers: { 'content-type': 'application/json' } },
      );
    if (typeof fault === 'number') {
      const error =
        fault === 429
          ? { code: 'RATE_LIMITED', message: 'too many requests' }
          : fault === 409
            ? { code: 'MISMATCHED_DEVICES', message: 'changed devices', details: { missing: [], stale: [] } }
            : undefined;
      return error === undefined
        ? new Response('Bad Gateway', { status: fault, headers: { 'content-type': 'text/html' } })
        : new Response(JSON.stringify({ error }), {
            status: fault,
            headers: { 'content-type': 'application/json' },
          });
    }
    const res = await fetch(input, init);
    if (fault === 'lose') throw new TypeError('connection reset');
    return res;
  };
}

/** Every file under `dir`, recursively, concatenated. */
export function allBytes(dir: string): Buffer {
  const out: Buffer[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(readFileSync(p));
    }
  };
  walk(dir);
  return Buffer.concat(out);
}

/** The forms of a canary the threat model searches for. */
export function canaryForms(canary: string): Buffer[] {
  return [
    Buffer.from(canary, 'utf8'),
    Buffer.from(canary, 'utf16le'),
    Buffer.from(Buffer.from(canary).toString('base64')),
    Buffer.from(Buffer.from(canary).toString('base64url')),
    Buffer.from(Buffer.from(canary).toString('hex')),
  ];
}

/** Number of canary hits in `haystack`. */
export function canaryHits(haystack: Buffer, canary: string): number {
  return canaryForms(canary).filter((f) => haystack.includes(f)).length;
}

/** Polls `fn` until it returns true (no timing assertions: only a generous cap). */
export async function until(
  fn: () => Promise<boolean> | boolean,
  what: string,
  capMs = 30_000,
): Promise<void> {
  const end = Date.now() + capMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
