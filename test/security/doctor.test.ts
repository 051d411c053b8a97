/**
 * `custos doctor` against a real server process and its data folder: a healthy deployment
 * passes every check; a data folder or key file readable by others, a node debug flag in
 * NODE_OPTIONS, a log-signing key that is not the one the logs were signed with, a missing
 * store, an unreachable PostgreSQL store (named why), a skewed clock and bad TLS material each
 * fail the right check with a fix, and the exit status is 1.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOrg, startServer, stopServer, tempDir, type ServerProcess } from '../client-support.js';
import { custos } from '../cli-support.js';
import {
  checkTls,
  runDoctorChecks,
  SERVER_SETTING_FLAGS,
  type DoctorCheck,
} from '../../packages/cli/src/commands/doctor.js';
import { SETTINGS } from '../../packages/server/src/config/settings.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 300_000 });

const dir = tempDir('custos-doctor-');
const PG_URL = process.env.CUSTOS_TEST_PG_URL;
let server: ServerProcess;

interface DoctorOut {
  ok: boolean;
  checks: DoctorCheck[];
}

const doctor = async (
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ status: number | null; out: DoctorOut }> => {
  const r = await custos(
    ['doctor', '--data', server.dataDir, '--server', server.url, ...args, '--json'],
    env,
  );
  return { status: r.status, out: JSON.parse(r.stdout) as DoctorOut };
};
const failed = (o: DoctorOut): string[] => o.checks.filter((c) => c.status === 'fail').map((c) => c.name);

beforeAll(async () => {
  server = await startServer(dir);
  // An organisation gives the store a log whose checkpoints the server publishes.
  const org = await createOrg(server, join(dir, 'org'));
  await org.admin.close();
  await org.officer.close();
});

afterAll(async () => {
  if (server !== undefined) await stopServer(server);
  rmSync(dir, { recursive: true, force: true });
});

describe('custos doctor', () => {
  it('passes a healthy deployment, with the published checkpoints verified under the key', async () => {
    const { status, out } = await doctor([]);
    expect(failed(out)).toEqual([]);
    expect(out.ok).toBe(true);
    expect(status).toBe(0);
    const byName = new Map(out.checks.map((c) => [c.name, c]));
    for (const name of [
      'node flags',
      'configuration',
      'listen address',
      'tls',
      'data folder mode',
      'store',
      'clock',
    ])
      expect(byName.get(name)?.status, name).toBe('pass');
    expect(byName.get('log-signing key')?.detail).toMatch(/matches the 1 log/);
    expect(byName.get('published checkpoints')?.status).toBe('pass');
    const human = await custos(['doctor', '--data', server.dataDir, '--server', server.url]);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/^PASS {2}store: .* schema at migration \d+$/m);
  });

  it("takes the server's own setting flags: a server started with --listen is checked where it runs", async () => {
    expect(SERVER_SETTING_FLAGS).toEqual(SETTINGS.map((x) => x.flag));
    // No --server: the clock and checkpoint checks go to the --listen address given, as the
    // operator started the server (before, doctor refused the flag and checked 127.0.0.1:8443).
    const r = await custos([
      'doctor',
      '--data',
      server.dataDir,
      '--listen',
      new URL(server.url).host,
      '--json',
    ]);
    const out = JSON.parse(r.stdout) as DoctorOut;
    expect(failed(out)).toEqual([]);
    expect(r.status).toBe(0);
    expect(out.checks.find((c) => c.name === 'clock')?.detail).toContain(server.url);
    expect(out.checks.find((c) => c.name === 'published checkpoints')?.status).toBe('pass');
  });

  it('fails on a data folder or key file readable by others, naming the chmod', async () => {
    chmodSync(server.dataDir, 0o755);
    try {
      const { status, out } = await doctor([]);
      expect(status).toBe(1);
      expect(failed(out)).toEqual(['data folder mode']);
      expect(out.checks.find((c) => c.name === 'data folder mode')?.fix).toBe(`chmod 700 ${server.dataDir}`);
    } finally {
      chmodSync(server.dataDir, 0o700);
    }
    const key = join(server.dataDir, 'log-signing.key');
    chmodSync(key, 0o644);
    try {
      expect(failed((await doctor([])).out)).toEqual(['log-signing key file mode']);
    } finally {
      chmodSync(key, 0o600);
    }
  });

  it('fails under an inspector or heap-snapshot flag in NODE_OPTIONS', async () => {
    for (const flag of ['--heapsnapshot-signal=SIGUSR2', '--report-on-signal']) {
      const { status, out } = await doctor([], { NODE_OPTIONS: flag });
      expect(status).toBe(1);
      expect(failed(out)).toEqual(['node flags']);
      expect(out.checks[0]!.detail).toContain(flag.split('=')[0]);
    }
  });

  it('fails when the log-signing key is not the one the logs and checkpoints were signed with', async () => {
    const other = join(dir, 'other.key');
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' });
    writeFileSync(other, pem, { mode: 0o600 });
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ logSigningKey: other }));
    const { status, out } = await doctor(['--config', config]);
    expect(status).toBe(1);
    expect(failed(out)).toEqual(['log-signing key', 'published checkpoints']);
  });

  it('fails on a missing store and on an unreachable server', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { mode: 0o700 });
    const r = await custos(['doctor', '--data', empty, '--server', 'http://127.0.0.1:9', '--json']);
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout) as DoctorOut;
    expect(failed(out)).toEqual(['log-signing key file mode', 'store', 'log-signing key', 'clock']);
  });

  it.skipIf(PG_URL === undefined || PG_URL === '')(
    'names why a PostgreSQL store is unreachable (never the URL), and compares nothing with it',
    async () => {
      const url = new URL(PG_URL!);
      const wrongPassword = Object.assign(new URL(url), { password: 'not-the-password-7f3a' });
      const noDatabase = Object.assign(new URL(url), { pathname: '/custos_doctor_no_such_db' });
      for (const [store, why] of [
        [wrongPassword, /password authentication failed/],
        [noDatabase, /database "custos_doctor_no_such_db" does not exist/],
      ] as const) {
        const checks = await runDoctorChecks({
          argv: ['--data', server.dataDir],
          env: { CUSTOS_STORE: store.href },
          cwd: dir,
          execArgv: [],
          server: server.url,
          now: Date.now,
        });
        const byName = new Map(checks.map((c) => [c.name, c]));
        expect(byName.get('store')?.status).toBe('fail');
        expect(byName.get('store')?.detail).toMatch(why);
        const said = JSON.stringify(checks);
        expect(said).not.toContain(store.href);
        expect(said).not.toContain('not-the-password-7f3a');
        // Not "matches the 0 log(s)", not "no log has a checkpoint yet": nothing was compared.
        expect(byName.get('log-signing key')).toMatchObject({ status: 'skip' });
        expect(byName.get('log-signing key')?.detail).toMatch(
          /not compared with the logs: the store could not be read/,
        );
        expect(byName.get('published checkpoints')?.status).toBe('skip');
      }
    },
  );

  it('fails on a skewed clock', async () => {
    const checks = await runDoctorChecks({
      argv: ['--data', server.dataDir],
      env: {},
      cwd: dir,
      execArgv: [],
      server: server.url,
      now: () => Date.now() + 5 * 60_000,
    });
    expect(checks.filter((c) => c.status === 'fail').map((c) => c.name)).toEqual(['clock']);
  });

  it('checks TLS material: matching key, validity, key file mode', () => {
    const tls = join(dir, 'tls');
    mkdirSync(tls);
    const cert = join(tls, 'cert.pem');
    const key = join(tls, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '30',
        '-subj',
        '/CN=custos.test',
      ],
      { stdio: 'ignore' },
    );
    chmodSync(key, 0o600);
    const now = Date.now();
    const statuses = (cs: DoctorCheck[]): string[] => cs.map((c) => `${c.name}:${c.status}`);
    expect(statuses(checkTls({ certFile: cert, keyFile: key }, false, now))).toEqual([
      'tls key file mode:pass',
      'tls:pass',
    ]);
    expect(statuses(checkTls({ certFile: cert, keyFile: key }, false, now + 20 * 86_400_000))[1]).toBe(
      'tls:warn',
    );
    expect(statuses(checkTls({ certFile: cert, keyFile: key }, false, now + 60 * 86_400_000))[1]).toBe(
      'tls:fail',
    );
    const otherKey = join(tls, 'other.pem');
    writeFileSync(
      otherKey,
      generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }),
      {
        mode: 0o600,
      },
    );
    expect(statuses(checkTls({ certFile: cert, keyFile: otherKey }, false, now))[1]).toBe('tls:fail');
    chmodSync(key, 0o640);
    expect(statuses(checkTls({ certFile: cert, keyFile: key }, false, now))[0]).toBe(
      'tls key file mode:fail',
    );
    expect(statuses(checkTls(null, false, now))).toEqual(['tls:fail']);
    expect(statuses(checkTls(null, true, now))).toEqual(['tls:pass']);
  });
});
