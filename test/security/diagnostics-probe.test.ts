/**
 * Threat model F2: the breached system served heap dumps from an unauthenticated
 * diagnostics endpoint. Custos has none. This probes a real server process with a word
 * list of diagnostic, management, debug, source-control and backup paths — unauthenticated
 * and with a member device's token, with GET and POST — and requires every answer to be
 * 401, 403 or 404 with a short JSON error that names no framework, version, file path,
 * stack frame or environment variable, and no header that advertises the software.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustosClient } from '@custos/client';
import {
  createOrg,
  enrolUser,
  startServer,
  stopServer,
  tempDir,
  type ServerProcess,
  type TestOrg,
} from '../client-support.js';

/** The word list: what scanners try first against Java, Node, Go, PHP and Python servers. */
const BASES = [
  '/heapdump',
  '/heapdump.hprof',
  '/threaddump',
  '/dump',
  '/core',
  '/actuator',
  '/actuator/heapdump',
  '/actuator/threaddump',
  '/actuator/env',
  '/actuator/health',
  '/actuator/metrics',
  '/actuator/prometheus',
  '/actuator/loggers',
  '/actuator/configprops',
  '/actuator/mappings',
  '/actuator/beans',
  '/actuator/jolokia',
  '/actuator/shutdown',
  '/actuator/httptrace',
  '/actuator/logfile',
  '/management',
  '/management/heapdump',
  '/management/env',
  '/management/metrics',
  '/manage/env',
  '/admin',
  '/admin/env',
  '/admin/heapdump',
  '/console',
  '/jolokia',
  '/jolokia/list',
  '/debug',
  '/debug/pprof',
  '/debug/pprof/heap',
  '/debug/pprof/goroutine',
  '/debug/vars',
  '/debug/requests',
  '/debug/default/view',
  '/_debug',
  '/__debug__',
  '/inspector',
  '/json',
  '/json/list',
  '/json/version',
  '/metrics',
  '/prometheus',
  '/stats',
  '/status',
  '/server-status',
  '/server-info',
  '/info',
  '/health',
  '/healthcheck',
  '/env',
  '/.env',
  '/.env.local',
  '/.env.production',
  '/config',
  '/config.json',
  '/configuration',
  '/settings',
  '/trace',
  '/logs',
  '/log',
  '/logfile',
  '/.git/',
  '/.git/config',
  '/.git/HEAD',
  '/.git/index',
  '/.svn/entries',
  '/.hg/store',
  '/.DS_Store',
  '/backup',
  '/backup.zip',
  '/backup.tar.gz',
  '/db.sqlite',
  '/custos.db',
  '/custos-data/custos.db',
  '/data/custos.db',
  '/dump.sql',
  '/database.sql',
  '/swagger',
  '/swagger-ui',
  '/swagger-ui.html',
  '/swagger.json',
  '/openapi.json',
  '/api-docs',
  '/v2/api-docs',
  '/v3/api-docs',
  '/documentation',
  '/graphql',
  '/graphiql',
  '/phpinfo.php',
  '/info.php',
  '/server.js',
  '/package.json',
  '/package-lock.json',
  '/node_modules/',
  '/log-signing.key',
  '/bootstrap.txt',
  '/id_rsa',
  '/.ssh/id_rsa',
  '/etc/passwd',
  '/../../../../etc/passwd',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/proc/self/environ',
  '/cgi-bin/test-cgi',
  '/wp-admin',
  '/_next/data',
];
/** The same under the API prefix, where a careless router might mount them. */
const PATHS = [
  ...BASES,
  ...BASES.slice(0, 60).map((p) => `/v1${p}`),
  '/v1/admin',
  '/v1/debug/heap',
  '/v1/internal',
];

/** What a body must not contain: software names, versions, paths, stacks, environment. */
const TELLTALES = [
  /fastify/i,
  /node(\.js)?\s*v?\d/i,
  /express/i,
  /\bat\s+\S+\s+\(/, // stack frame
  /\/work\/|\/home\/|\/usr\/|\/tmp\//,
  /node_modules/,
  /\.ts:\d+|\.js:\d+/,
  /CUSTOS_|PATH=|HOME=/,
  /sqlite|postgres/i,
  /BEGIN [A-Z ]*PRIVATE KEY/,
];

let dir: string;
let server: ServerProcess;
let org: TestOrg;
let member: CustosClient;
let memberAuth: Record<string, string>;

beforeAll(async () => {
  dir = tempDir('custos-probe-');
  server = await startServer(dir);
  org = await createOrg(server, dir);
  member = await enrolUser(server, org.admin, join(dir, 'member'));
  // A real device token for the member: taken from an authenticated request the SDK makes.
  memberAuth = {
    authorization: `Bearer ${await member.api.token()}`,
    'custos-device': member.profile.deviceId,
  };
});

afterAll(async () => {
  await member?.close();
  await org?.admin.close();
  await org?.officer.close();
  if (server !== undefined) await stopServer(server);
});

async function probe(path: string, method: 'GET' | 'POST', headers: Record<string, string>) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    ...(method === 'POST' ? { body: '{}' } : {}),
    redirect: 'manual',
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

describe('F2: no diagnostics, dump, debug or source endpoint', () => {
  it('has at least 100 paths in the word list', () => {
    expect(new Set(PATHS).size).toBeGreaterThanOrEqual(100);
  });

  it('the member token is a working credential (so the authenticated probe means something)', async () => {
    const ok = await probe('/v1/session', 'GET', memberAuth);
    expect(ok.status).toBe(200);
  });

  for (const who of ['anonymous', 'member'] as const) {
    it(`answers every probe ${who === 'anonymous' ? 'without a token' : "with a member's token"} with 401/403/404 and nothing worth reading`, async () => {
      const failures: string[] = [];
      for (const path of PATHS) {
        for (const method of ['GET', 'POST'] as const) {
          const r = await probe(path, method, who === 'member' ? memberAuth : {});
          const where = `${method} ${path} → ${r.status}`;
          if (![401, 403, 404].includes(r.status)) failures.push(`${where}: status`);
          if (r.body.length > 512) failures.push(`${where}: ${r.body.length}-byte body`);
          if (r.body.length > 0) {
            let json: unknown;
            try {
              json = JSON.parse(r.body);
            } catch {
              failures.push(`${where}: body is not a JSON error`);
            }
            const err = (json as { error?: { code?: unknown } } | undefined)?.error;
            if (typeof err?.code !== 'string') failures.push(`${where}: body is not a JSON error`);
          }
          for (const t of TELLTALES) if (t.test(r.body)) failures.push(`${where}: body matches ${String(t)}`);
          for (const h of ['x-powered-by', 'server', 'x-aspnet-version', 'x-runtime'])
            if (r.headers.get(h) !== null) failures.push(`${where}: header ${h}`);
        }
      }
      expect(failures).toEqual([]);
    });
  }
});
