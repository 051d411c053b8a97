/**
 * `custos doctor`: checks a server deployment from the server machine, with the server's
 * own configuration (flags, CUSTOS_* environment, --config file): node debug flags, the
 * listen address and TLS, file modes of the data folder and key files, the store's
 * reachability and schema level, the log-signing key against the logs it signed and the
 * checkpoints the server publishes, and the clock against the server's. Reads only: it
 * never migrates, creates or changes a file. Each check passes, warns, fails or is skipped,
 * with the fix; any failure makes the exit status 1. docs/operations.md, "custos doctor".
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { httpFetch } from '@custos/client/http-fetch';
import { openCheckpoint } from '@custos/core';
import type * as ServerPackage from '@custos/server';
import type { CliIo } from '../cli.js';
import { optionalString } from '../command-flags.js';
import { runCommand, type CommandContext, EXIT_FAILURE } from '../command-runner.js';
import { debugFlagsIn } from '../debug-flags.js';
import { fetchFailure } from '../fetch-failure.js';

/** Largest tolerated clock difference to the server: tokens live 15 min, challenges 2 min. */
export const MAX_CLOCK_SKEW_MS = 30_000;
/** A certificate expiring sooner than this is a warning. */
export const CERT_EXPIRY_WARNING_MS = 14 * 24 * 60 * 60 * 1000;
/** How long one request to the server may take. */
const HTTP_TIMEOUT_MS = 10_000;
/** Mode bits no key file or data folder may have: any access by group or others. */
const GROUP_OTHER_BITS = 0o077;

const USAGE = `Usage: custos doctor [SERVER SETTINGS…] [--config FILE] [--server URL] [--json]

Checks this machine's Custos server deployment and prints pass, warn, fail or skip per check,
each failure with its fix; exits 1 when a check fails. It reads the server's configuration as
'custos server' does (the same setting flags, CUSTOS_* environment, --config JSON file,
defaults): give it the settings the server runs with, e.g.
  custos doctor --data /var/lib/custos --listen 0.0.0.0:8443 --tls-cert C --tls-key K
and run it with the service's environment. It changes nothing.

  --data, --listen, --store, --tls-cert, --tls-key, --log-signing-key, --origin, …
                  every setting of 'custos server --help' (flags > environment > file)
  --config FILE   the server's JSON configuration file (env CUSTOS_CONFIG)
  --server URL    the server as clients reach it (default: the configured origin, else the
                  listen address), for the clock and published-checkpoint checks
  --json          print {"ok", "checks": [{"name", "status", "detail", "fix"?}]}

See docs/operations.md.
`;

/**
 * The setting flags of `custos server` (server config/settings.ts SETTINGS; a test keeps the
 * two equal). Listed here, not imported: the server package loads only when the checks run.
 * A server started with `--listen` or `--tls-cert` is checked as it runs only if doctor takes
 * the same flags: without them it checked the defaults and sent the operator chasing
 * 127.0.0.1:8443.
 */
export const SERVER_SETTING_FLAGS = [
  'data',
  'listen',
  'store',
  'tls-cert',
  'tls-key',
  'bootstrap-out',
  'log-signing-key',
  'origin',
  'blob-quota',
  'blob-sweep',
  'address-rate-limit',
  'disposition-step',
  'disposition-request-ms',
  'archive-hand-in-days',
  'log-level',
] as const;

const FLAGS = {
  ...(Object.fromEntries(SERVER_SETTING_FLAGS.map((f) => [f, 'string'])) as Record<
    (typeof SERVER_SETTING_FLAGS)[number],
    'string'
  >),
  config: 'string',
  server: 'string',
  json: 'boolean',
  help: 'boolean',
} as const;

/** The outcome of one check. */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** One check's result. */
export interface DoctorCheck {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do, for a warning or failure. */
  readonly fix?: string;
}

/** What the checks run against (the process's own view; tests substitute it). */
export interface DoctorInputs {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly execArgv: readonly string[];
  /** The server's URL from --server, if given. */
  readonly server: string | undefined;
  readonly now: () => number;
}

const check = (name: string, status: CheckStatus, detail: string, fix?: string): DoctorCheck =>
  fix === undefined ? { name, status, detail } : { name, status, detail, fix };

const errorText = (e: unknown): string => (e instanceof Error ? e.message : 'unknown error');

/** No inspector, heap-snapshot, profiler or report flag in node's arguments or NODE_OPTIONS. */
export function checkDebugFlags(execArgv: readonly string[], nodeOptions: string | undefined): DoctorCheck {
  const found = debugFlagsIn(execArgv, nodeOptions);
  if (found.length === 0) return check('node flags', 'pass', 'no inspector, dump or profiler flag');
  return check(
    'node flags',
    'fail',
    `node runs with ${found.map((f) => `${f.flag} (${f.source})`).join(', ')}: these expose the process's memory`,
    'remove them from NODE_OPTIONS and from the node command line of the service',
  );
}

/** Group/other permission bits of `path`, or a failed check naming what is wrong. */
function modeCheck(name: string, path: string, fix: string): DoctorCheck {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch (e) {
    return check(
      name,
      'fail',
      `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? errorText(e)}`,
      fix,
    );
  }
  return (mode & GROUP_OTHER_BITS) === 0
    ? check(name, 'pass', `${path} has mode ${mode.toString(8)}`)
    : check(name, 'fail', `${path} has mode ${mode.toString(8)}: readable by group or others`, fix);
}

/** Certificate and key readable, the key matching the certificate, within its validity. */
export function checkTls(
  tls: { readonly certFile: string; readonly keyFile: string } | null,
  loopback: boolean,
  now: number,
): DoctorCheck[] {
  if (tls === null) {
    return loopback
      ? [check('tls', 'pass', 'no TLS here: listening on loopback only, behind a TLS-terminating proxy')]
      : [check('tls', 'fail', 'a non-loopback listen address without TLS', 'set --tls-cert and --tls-key')];
  }
  const out = [modeCheck('tls key file mode', tls.keyFile, `chmod 600 ${tls.keyFile}`)];
  try {
    const cert = new X509Certificate(readFileSync(tls.certFile));
    const key = createPrivateKey(readFileSync(tls.keyFile));
    const until = Date.parse(cert.validTo);
    if (!cert.checkPrivateKey(key)) {
      out.push(
        check('tls', 'fail', 'the TLS key does not belong to the certificate', 'install the matching pair'),
      );
    } else if (now < Date.parse(cert.validFrom) || now > until) {
      out.push(
        check('tls', 'fail', `the certificate is valid ${cert.validFrom} – ${cert.validTo}`, 'renew it'),
      );
    } else if (until - now < CERT_EXPIRY_WARNING_MS) {
      out.push(check('tls', 'warn', `the certificate expires ${cert.validTo}`, 'renew it soon'));
    } else {
      out.push(
        check(
          'tls',
          'pass',
          `certificate for ${cert.subject.replaceAll('\n', ', ')} valid until ${cert.validTo}`,
        ),
      );
    }
  } catch (e) {
    out.push(check('tls', 'fail', `cannot use the certificate or key: ${errorText(e)}`, 'give PEM files'));
  }
  return out;
}

/** Runs every check; never throws. */
export async function runDoctorChecks(inputs: DoctorInputs): Promise<DoctorCheck[]> {
  const server = await import('@custos/server');
  const checks: DoctorCheck[] = [checkDebugFlags(inputs.execArgv, inputs.env.NODE_OPTIONS)];
  let config: ReturnType<typeof server.loadConfig>;
  try {
    config = server.loadConfig({ argv: inputs.argv, env: inputs.env, cwd: inputs.cwd });
    checks.push(check('configuration', 'pass', 'the settings load'));
  } catch (e) {
    checks.push(check('configuration', 'fail', errorText(e), 'fix the setting named (docs/operations.md)'));
    return checks;
  }
  const loopback = server.isLoopbackHost(config.listen.host);
  checks.push(
    loopback
      ? check('listen address', 'pass', `${config.listen.host}:${config.listen.port} (loopback)`)
      : config.origin === null
        ? check(
            'listen address',
            'warn',
            `${config.listen.host}:${config.listen.port} with no origin set`,
            'set --origin to the https:// name clients use',
          )
        : check(
            'listen address',
            'pass',
            `${config.listen.host}:${config.listen.port}, origin ${config.origin}`,
          ),
  );
  checks.push(...checkTls(config.tls, loopback, inputs.now()));
  checks.push(modeCheck('data folder mode', config.dataDir, `chmod 700 ${config.dataDir}`));
  checks.push(
    modeCheck('log-signing key file mode', config.logSigningKeyFile, `chmod 600 ${config.logSigningKeyFile}`),
  );

  // null: the store could not be read, so the key and the checkpoints are not compared with it.
  let logs: readonly { orgId: string; origin: string; verifierKey: string; treeSize: number }[] | null = null;
  try {
    const probe = await server.probeStore(config.store);
    logs = probe.logs;
    const where = config.store.kind === 'sqlite' ? config.store.path : 'PostgreSQL';
    if (probe.schemaVersion === probe.expectedVersion) {
      checks.push(check('store', 'pass', `${where} reachable, schema at migration ${probe.schemaVersion}`));
    } else if (probe.schemaVersion < probe.expectedVersion) {
      checks.push(
        check(
          'store',
          'fail',
          `${where} at migration ${probe.schemaVersion}, this build needs ${probe.expectedVersion}`,
          "start 'custos server' once: it migrates on start",
        ),
      );
    } else {
      checks.push(
        check(
          'store',
          'fail',
          `${where} at migration ${probe.schemaVersion}, newer than this build (${probe.expectedVersion})`,
          'run the Custos version that migrated the store',
        ),
      );
    }
  } catch (e) {
    // Never echo a store URL: it may hold a password. The driver's message may (it names the
    // user, database or host, as 'custos server' says on start), and without it a bare SQLSTATE
    // such as 28P01 or 3D000 leaves the operator guessing.
    const missing = e instanceof Error && e.name === server.STORE_MISSING;
    const code = (e as { code?: unknown } | null)?.code;
    checks.push(
      check(
        'store',
        'fail',
        missing
          ? errorText(e)
          : `the store is unreachable: ${typeof code === 'string' ? `${code}: ` : ''}${errorText(e)}`,
        missing
          ? 'check --data, or start the server once to create it'
          : 'check the store URL, the network and credentials',
      ),
    );
  }

  const serverUrl =
    inputs.server ??
    config.origin ??
    `${config.tls === null ? 'http' : 'https'}://${config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host}:${config.listen.port}`;
  checks.push(...(await checkLogKey(server, config.logSigningKeyFile, logs, serverUrl)));
  checks.push(await checkClock(serverUrl, inputs.now));
  return checks;
}

async function fetchText(url: string): Promise<{ status: number; text: string; date: string | null }> {
  const r = await httpFetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  return { status: r.status, text: await r.text(), date: r.headers.get('date') };
}

/** The key file holds an Ed25519 key whose verifier key every org log records, and the published checkpoints verify under it. */
async function checkLogKey(
  server: typeof ServerPackage,
  keyFile: string,
  logs: readonly { orgId: string; origin: string; verifierKey: string; treeSize: number }[] | null,
  serverUrl: string,
): Promise<DoctorCheck[]> {
  let key: { publicKey: Uint8Array; sign(m: Uint8Array): Uint8Array };
  try {
    const pem = readFileSync(keyFile, 'utf8');
    key = new server.LogSigningKey(createPrivateKey(pem));
  } catch (e) {
    return [
      check(
        'log-signing key',
        'fail',
        `no usable key at ${keyFile}: ${(e as NodeJS.ErrnoException).code ?? errorText(e)}`,
        'restore it from its backup (a new key makes auditors see checkpoints under another key)',
      ),
    ];
  }
  if (logs === null) {
    // Not "matches the 0 logs": nothing was compared.
    const why = 'the store could not be read';
    return [
      check('log-signing key', 'skip', `Ed25519 key present; not compared with the logs: ${why}`),
      check('published checkpoints', 'skip', `not checked: ${why}`),
    ];
  }
  const out: DoctorCheck[] = [];
  const mismatched = logs.filter((l) => server.logVerifierKey(l.origin, key) !== l.verifierKey);
  out.push(
    mismatched.length === 0
      ? check(
          'log-signing key',
          'pass',
          `Ed25519 key present; matches the ${logs.length} log(s) in the store`,
        )
      : check(
          'log-signing key',
          'fail',
          `the key does not match the log(s) of ${mismatched.map((l) => l.orgId).join(', ')}`,
          'restore the key those logs were signed with',
        ),
  );
  let published = 0;
  for (const l of logs.filter((x) => x.treeSize > 0)) {
    let r: Awaited<ReturnType<typeof fetchText>>;
    try {
      r = await fetchText(`${serverUrl}/v1/orgs/${encodeURIComponent(l.orgId)}/log/checkpoint`);
    } catch (e) {
      // Not reached is not "does not verify": say why it was not reached.
      const why = unreachable(serverUrl, e);
      out.push(check('published checkpoints', 'fail', why.detail, why.fix));
      return out;
    }
    try {
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      openCheckpoint(r.text, [server.logVerifierKey(l.origin, key)], l.origin);
      published++;
    } catch (e) {
      out.push(
        check(
          'published checkpoints',
          'fail',
          `the checkpoint served for ${l.orgId} does not verify under this key: ${errorText(e)}`,
          'is the server running with this key file? Restart it, or restore the right key',
        ),
      );
      return out;
    }
  }
  out.push(
    published === 0
      ? check('published checkpoints', 'skip', 'no log has a checkpoint yet')
      : check(
          'published checkpoints',
          'pass',
          `${published} checkpoint(s) from ${serverUrl} verify under the key`,
        ),
  );
  return out;
}

/**
 * Why `url` could not be fetched, and what to do: fetch says only "fetch failed", and "start
 * the server" is wrong advice when the server runs but its certificate is not trusted.
 */
export function unreachable(url: string, e: unknown): { detail: string; fix: string } {
  const why = fetchFailure(e);
  if (why.untrustedCertificate)
    return {
      detail: `cannot reach ${url}: its TLS certificate is not trusted here (${why.reason})`,
      fix: 'devices will refuse it too: use a certificate from a CA they trust, for the name in --server / origin (a private CA: NODE_EXTRA_CA_CERTS=ca.pem, here and on every device)',
    };
  return {
    detail: `cannot reach ${url}: ${why.reason ?? errorText(e)}`,
    fix: 'start the server, or pass --server with the URL clients use',
  };
}

/** The server's Date header against this clock (second resolution; the round trip is allowed for). */
async function checkClock(serverUrl: string, now: () => number): Promise<DoctorCheck> {
  try {
    const sent = now();
    const r = await fetchText(`${serverUrl}/healthz`);
    const received = now();
    if (r.date === null) return check('clock', 'skip', 'the server sent no Date header');
    const theirs = Date.parse(r.date);
    // The header truncates to the second: the server's clock was in [theirs, theirs + 1 s).
    const skew = Math.max(0, theirs - received, sent - (theirs + 1000));
    return skew <= MAX_CLOCK_SKEW_MS
      ? check('clock', 'pass', `within ${Math.ceil((skew + 1) / 1000)} s of ${serverUrl}`)
      : check(
          'clock',
          'fail',
          `${Math.round(skew / 1000)} s apart from ${serverUrl}`,
          'run NTP (chrony or systemd-timesyncd) on both machines',
        );
  } catch (e) {
    const why = unreachable(serverUrl, e);
    return check('clock', 'fail', why.detail, why.fix);
  }
}

/** One line per check, then a summary. */
export function formatChecks(checks: readonly DoctorCheck[]): string[] {
  const lines = checks.flatMap((c) => [
    `${c.status.toUpperCase().padEnd(4)}  ${c.name}: ${c.detail}`,
    ...(c.fix === undefined ? [] : [`      fix: ${c.fix}`]),
  ]);
  const failed = checks.filter((c) => c.status === 'fail').length;
  lines.push(failed === 0 ? 'All checks passed.' : `${failed} check(s) failed.`);
  return lines;
}

async function doctor(ctx: CommandContext): Promise<number> {
  const argv = ([...SERVER_SETTING_FLAGS, 'config'] as const).flatMap((f) => {
    const v = optionalString(ctx.flags, f);
    return v === undefined ? [] : [`--${f}`, v];
  });
  const checks = await runDoctorChecks({
    argv,
    env: process.env,
    cwd: process.cwd(),
    execArgv: process.execArgv,
    server: optionalString(ctx.flags, 'server')?.replace(/\/+$/, ''),
    now: Date.now,
  });
  const ok = checks.every((c) => c.status !== 'fail');
  ctx.result(formatChecks(checks), { ok, checks });
  return ok ? 0 : EXIT_FAILURE;
}

/** Runs `custos doctor`. */
export function runDoctor(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({ name: 'doctor', usage: USAGE, flags: FLAGS, maxPositionals: 0 }, args, io, doctor);
}
