/**
 * Shared by the org-create tests: a real `custos server` process (from the built dist), the
 * CLI as a child process, enrolment of the first admin from its profile over real HTTP, and
 * a search of a folder's raw bytes for secrets in several encodings.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { authChallengeMessage, type DeviceId, type OrgId } from '@custos/server';
import { deviceKeys } from '../packages/server/src/testing/test-app.js';

/** The built `custos` entry point (the lead's `npm test` runs `tsc -b` first). */
export const MAIN = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));
const STARTUP_TIMEOUT_MS = 60_000;

/** The environment without CUSTOS_* settings. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CUSTOS_')));
}

/** A running server process. */
export interface ServerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly url: string;
  readonly dataDir: string;
  readonly bootstrapToken: string;
  stop(): Promise<void>;
}

/** Starts `custos server` on a free loopback port with a fresh data folder under `dir`. */
export function startServerProcess(dir: string): Promise<ServerProcess> {
  const dataDir = join(dir, 'data');
  const tokenFile = join(dir, 'bootstrap.txt');
  const args = [MAIN, 'server', '--data', dataDir, '--listen', '127.0.0.1:0', '--bootstrap-out', tokenFile];
  const child = spawn(process.execPath, args, { env: cleanEnv() });
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start: ${stdout} ${stderr}`)),
      STARTUP_TIMEOUT_MS,
    );
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${stderr}`));
    });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /Listening on (https?:\/\/\S+)/.exec(stdout);
      if (m === null || !/The token works once/.test(stdout)) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        child,
        url: m[1]!,
        dataDir,
        bootstrapToken: readFileSync(tokenFile, 'utf8').trim(),
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.on('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

/** Result of a CLI run. */
export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `custos …` as a child process to completion. */
export function runCustos(args: readonly string[], timeoutMs = 300_000): Promise<CliRun> {
  const child = spawn(process.execPath, [MAIN, ...args], { env: cleanEnv() });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A JSON request over real HTTP. */
export async function http(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

/** Enrols a device with `code` (as the client will; `keys` when the caller needs its identity) and returns its auth headers. */
export async function enrolDevice(
  base: string,
  orgId: string,
  code: string,
  keys = deviceKeys(1, 1),
): Promise<Record<string, string>> {
  const r = await http(base, 'POST', `/v1/orgs/${orgId}/devices`, { ...keys.body, enrolmentCode: code });
  if (r.status !== 201) throw new Error(`enrolment failed: ${JSON.stringify(r.json)}`);
  const deviceId = r.json.deviceId as string;
  const c = await http(base, 'POST', '/v1/auth/challenge', { orgId, deviceId });
  const { challengeId, challenge, origin } = c.json as {
    challengeId: string;
    challenge: string;
    origin: string;
  };
  const msg = authChallengeMessage({
    origin,
    orgId: orgId as OrgId,
    deviceId: deviceId as DeviceId,
    challenge,
  });
  const signature = Buffer.from(keys.identity.sign(new Uint8Array(msg))).toString('base64url');
  const t = await http(base, 'POST', '/v1/auth/token', { orgId, deviceId, challengeId, signature });
  if (t.status !== 201) throw new Error(`login failed: ${JSON.stringify(t.json)}`);
  return { authorization: `Bearer ${t.json.token as string}`, 'custos-device': deviceId };
}

/** Every file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** The encodings a secret is searched in: raw bytes, base64, base64url and hex. */
export function encodings(secret: Uint8Array): Buffer[] {
  const b = Buffer.from(secret);
  return [
    b,
    Buffer.from(b.toString('base64')),
    Buffer.from(b.toString('base64url')),
    Buffer.from(b.toString('hex')),
  ];
}

/** Names of the secrets found in any file under `dir` (in any of {@link encodings}). */
export function secretsFoundIn(dir: string, secrets: ReadonlyMap<string, Uint8Array>): string[] {
  const blobs = filesUnder(dir).map((f) => readFileSync(f));
  const hits: string[] = [];
  for (const [name, secret] of secrets) {
    if (encodings(secret).some((e) => blobs.some((b) => b.includes(e)))) hits.push(name);
  }
  return hits;
}
