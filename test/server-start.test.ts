/**
 * End to end: `custos server` as a real process from the built dist (the lead's `npm test`
 * runs `tsc -b` first). Checks first start (bootstrap token file and key file mode 0600),
 * /healthz, the bland 404 for diagnostic paths (threat model F2), refusal of a non-loopback
 * address without TLS, TLS, and a graceful SIGTERM; a device and an auditor command facing
 * a certificate they do not trust say so (not "is it running?"), and the advice works.
 */
import { SERVER_NODE_FLAGS } from '@custos/cli/gc-tuning';
import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));
const STARTUP_TIMEOUT_MS = 60_000;

/** The environment without CUSTOS_* settings, so the test sees only its own flags. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CUSTOS_')));
}

interface Started {
  readonly child: ChildProcessWithoutNullStreams;
  readonly url: string;
  stdout: string;
  stderr: string;
}

function start(args: string[], nodeFlags: readonly string[] = []): Promise<Started> {
  const child = spawn(process.execPath, [...nodeFlags, MAIN, 'server', ...args], { env: cleanEnv() });
  const s = { child, url: '', stdout: '', stderr: '' };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "Listening on" line: ${s.stdout} ${s.stderr}`)),
      STARTUP_TIMEOUT_MS,
    );
    child.stdout.on('data', (d: Buffer) => {
      s.stdout += d.toString();
      const m = /Listening on (https?:\/\/\S+)/.exec(s.stdout);
      // Resolve once the first-start block (if any) is complete too.
      if (m !== null && (!/Bootstrap token:/.test(s.stdout) || /The token works once/.test(s.stdout))) {
        clearTimeout(timer);
        resolve(Object.assign(s, { url: m[1]! }));
      }
    });
    child.stderr.on('data', (d: Buffer) => (s.stderr += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${s.stderr}`));
    });
  });
}

function stop(s: Started): Promise<number | null> {
  return new Promise((resolve) => {
    s.child.removeAllListeners('exit');
    s.child.on('exit', (code) => resolve(code));
    s.child.kill('SIGTERM');
  });
}

function runToExit(args: string[]): { status: number | null; stderr: string } {
  try {
    execFileSync(process.execPath, [MAIN, 'server', ...args], {
      env: cleanEnv(),
      stdio: 'pipe',
      timeout: STARTUP_TIMEOUT_MS,
    });
    return { status: 0, stderr: '' };
  } catch (e) {
    const err = e as { status: number | null; stderr: Buffer };
    return { status: err.status, stderr: err.stderr.toString() };
  }
}

/** A self-signed certificate for 127.0.0.1 (and localhost), as an operator makes one with openssl. */
function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'],
      ...['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    ],
    { stdio: 'pipe' },
  );
  return { cert, key };
}

/** Runs a `custos` command to its end (never a server). */
function custos(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    env: { ...cleanEnv(), ...env },
    encoding: 'utf8',
    timeout: STARTUP_TIMEOUT_MS,
  });
  return { status: r.status, stderr: r.stderr };
}

const DIAGNOSTIC_PATHS = [
  '/heapdump',
  '/heapsnapshot',
  '/dump',
  '/debug/pprof',
  '/debug/pprof/heap',
  '/debug/vars',
  '/metrics',
  '/prometheus',
  '/env',
  '/actuator',
  '/actuator/env',
  '/actuator/heapdump',
  '/actuator/threaddump',
  '/management/env',
  '/management/heapdump',
  '/jolokia',
  '/trace',
  '/json/version',
  '/server-status',
  '/.git/config',
  '/.env',
  '/v1/debug',
  '/v1/heapdump',
  '/v1/metrics',
  '/admin',
  '/console',
];
const BLAND_404 = '{"error":{"code":"NOT_FOUND","message":"Not found."}}';

describe('custos server (process)', () => {
  let dir: string;
  let s: Started;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-e2e-'));
    s = await start([
      '--data',
      join(dir, 'data'),
      '--listen',
      '127.0.0.1:0',
      '--bootstrap-out',
      join(dir, 'bootstrap.txt'),
    ]);
  });
  afterAll(async () => {
    if (s?.child.exitCode === null) await stop(s);
    rmSync(dir, { recursive: true, force: true });
  });

  it('notes node flags it runs without; started as `custos` and `npm start` start it, with them, it does not', async () => {
    // The note is written once the server is up: before it answers a request.
    const settled = async (x: Started): Promise<void> => {
      await fetch(`${x.url}/healthz`);
      await new Promise((r) => setTimeout(r, 100));
    };
    await settled(s);
    expect(s.stderr).toContain(`custos server: note: node runs without ${SERVER_NODE_FLAGS.join(' ')};`);
    const flagged = await start(
      ['--data', join(dir, 'flagged'), '--listen', '127.0.0.1:0'],
      SERVER_NODE_FLAGS,
    );
    try {
      await settled(flagged);
      expect(flagged.stderr).not.toContain('note:');
    } finally {
      await stop(flagged);
    }
  });

  it('serves /healthz', async () => {
    const r = await fetch(`${s.url}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ok' });
  });

  it('writes the bootstrap token to a 0600 file, prints where (not the token) and next steps', () => {
    const file = join(dir, 'bootstrap.txt');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, 'utf8').trim();
    expect(token).toMatch(/^cb1\.[A-Za-z0-9_-]{43}$/);
    expect(s.stdout).toContain(`Bootstrap token written to ${file} (mode 0600`);
    expect(s.stdout).toContain(`custos org create --server ${s.url} --bootstrap-token-file ${file}`);
    // Neither the terminal (a service's journal) nor the structured log carries the token.
    expect(s.stdout).not.toContain(token);
    expect(s.stderr).not.toContain(token);
  });

  it('keeps the log-signing key in a 0600 file inside a 0700 data folder', () => {
    expect(statSync(join(dir, 'data', 'log-signing.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'data')).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(dir, 'data', 'log-signing.key'), 'utf8')).toContain('BEGIN PRIVATE KEY');
  });

  it('answers every diagnostic path with a bland 404', async () => {
    for (const path of DIAGNOSTIC_PATHS) {
      for (const method of ['GET', 'POST']) {
        const r = await fetch(`${s.url}${path}`, { method });
        expect([r.status, await r.text()], `${method} ${path}`).toEqual([404, BLAND_404]);
      }
    }
  });

  it('stops gracefully on SIGTERM, and a restart before any organisation prints a new token', async () => {
    const first = readFileSync(join(dir, 'bootstrap.txt'), 'utf8').trim();
    expect(await stop(s)).toBe(0);
    s = await start(['--data', join(dir, 'data'), '--listen', '127.0.0.1:0']);
    const second = /Bootstrap token: (\S+)/.exec(s.stdout)?.[1];
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect(await stop(s)).toBe(0);
  });

  it('refuses a non-loopback address without TLS, naming the setting', () => {
    const r = runToExit(['--data', join(dir, 'data'), '--listen', '0.0.0.0:0']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/listen: 0\.0\.0\.0 is not a loopback address.*TLS/);
  });

  it('refuses a bad setting with a message naming it', () => {
    const r = runToExit(['--data', join(dir, 'data'), '--store', 'mysql://u:secret@db']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('configuration: store');
    expect(r.stderr).not.toContain('secret');
  });

  it('serves HTTPS with --tls-cert and --tls-key', async () => {
    const { cert, key } = selfSignedCertificate(dir);
    const tls = await start([
      '--data',
      join(dir, 'tls-data'),
      '--listen',
      '127.0.0.1:0',
      '--tls-cert',
      cert,
      '--tls-key',
      key,
    ]);
    try {
      expect(tls.url.startsWith('https://')).toBe(true);
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(`${tls.url}/healthz`, { rejectUnauthorized: false }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      expect(JSON.parse(body)).toEqual({ status: 'ok' });
    } finally {
      expect(await stop(tls)).toBe(0);
    }
  });

  it('says a server certificate is not trusted (not "check that it is running"), and how to trust it', async () => {
    const tlsDir = join(dir, 'untrusted');
    mkdirSync(tlsDir);
    const { cert, key } = selfSignedCertificate(tlsDir);
    const tls = await start([
      '--data',
      join(tlsDir, 'data'),
      '--listen',
      '127.0.0.1:0',
      '--tls-cert',
      cert,
      '--tls-key',
      key,
    ]);
    try {
      // A well-formed code for no organisation: the request is what fails, or is refused.
      const id = () => randomBytes(16).toString('base64url');
      const code = `ce1.${id()}.${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
      const enroll = (env?: NodeJS.ProcessEnv) =>
        custos(['enroll', code, '--server', tls.url, '--unattended', '--profile', join(tlsDir, 'p')], env);
      const auditor = custos([
        'verify',
        'log',
        '--server',
        tls.url,
        '--org',
        id(),
        '--state',
        join(tlsDir, 'w.state'),
      ]);
      const device = enroll();
      for (const r of [device, auditor]) {
        expect(r.status).toBe(1);
        expect(r.stderr).toContain('its TLS certificate is not trusted here (DEPTH_ZERO_SELF_SIGNED_CERT)');
        expect(r.stderr).toContain('NODE_EXTRA_CA_CERTS=ca.pem');
        expect(r.stderr).not.toMatch(/did not answer|check that it is running/);
      }
      // The advice works: trusting the certificate reaches the server, which refuses the code.
      const trusted = enroll({ NODE_EXTRA_CA_CERTS: cert });
      expect(trusted.status).toBe(1);
      expect(trusted.stderr).toMatch(/the enrolment code is not valid \(ENROLMENT_CODE_INVALID\)/);
    } finally {
      expect(await stop(tls)).toBe(0);
    }
  });
});
