/**
 * Shared by the `custos` command end-to-end tests: a real server process, an organisation
 * made by `custos org create` (the ceremony, from a passphrase file), its first admin
 * enrolled from the ceremony's admin profile, and a helper that runs the built `custos`
 * with a profile folder and parses --json output.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyCeremonyOrg, TEMPLATE_OFFICER_PASSPHRASE } from './ceremony-template.js';
import { stopServer, type ServerArgs, type ServerProcess } from './client-support.js';
import type { LyingRelay } from './lying-relay.js';

/** The built `custos` entry point. */
export const MAIN = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));
/** Officer passphrase used by the ceremony in these tests. */
export const OFFICER_PASSPHRASE = TEMPLATE_OFFICER_PASSPHRASE;
/** Cap on one command run: only a safety net against a hung child (the demo and the ceremony
 * do seconds of scrypt work, minutes on a loaded machine). */
const RUN_TIMEOUT_MS = 600_000;

/** Result of one run. */
export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment without CUSTOS_* settings. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CUSTOS_'))),
    ...extra,
  };
}

/** Runs `custos …` to completion. */
export function custos(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const child = spawn(process.execPath, [MAIN, ...args], { env: cleanEnv(env) });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Runs `custos …` expecting exit 0 and JSON on stdout. */
export async function custosJson<T = Record<string, unknown>>(args: readonly string[]): Promise<T> {
  const r = await custos([...args, '--json']);
  if (r.status !== 0) throw new Error(`custos ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Starts `custos chat` as a child with piped stdin. */
export function startChat(args: readonly string[]): {
  child: ChildProcessWithoutNullStreams;
  /** stdout and stderr as they came. */
  output: () => string;
  /** stdout alone. */
  stdout: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [MAIN, 'chat', ...args], { env: cleanEnv() });
  let out = '';
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  return { child, output: () => out, stdout: () => stdout, exited };
}

/** A server with an organisation from the ceremony and its first admin enrolled. */
export interface CliOrg {
  readonly server: ServerProcess;
  /**
   * The URL devices and officers use, the server's origin: its own address, or that of the
   * relay in front of it (then `server.url` is only where the relay forwards to).
   */
  readonly url: string;
  readonly orgId: string;
  readonly adminProfile: string;
}

/**
 * A server with an organisation from the ceremony (2 officers, threshold 2) and its first
 * admin enrolled from the ceremony's admin profile. The ceremony runs once per test run
 * (ceremony-template.ts); `dir` gets its own copy and its own server process. With `relay`
 * (lying-relay.ts) the server is reached only through it, under its origin (`--origin`).
 */
export async function cliOrg(
  dir: string,
  name = 'Example Agency',
  extra: ServerArgs = {},
  relay?: LyingRelay,
): Promise<CliOrg> {
  const copy = await copyCeremonyOrg(dir, name, extra, custosJson, relay);
  const adminProfile = join(dir, 'admin');
  try {
    await custosJson([
      'enroll',
      '--admin-profile',
      copy.ceremonyAdminProfile,
      '--profile',
      adminProfile,
      '--unattended',
    ]);
  } catch (e) {
    await stopServer(copy.server);
    throw e;
  }
  return { server: copy.server, url: copy.url, orgId: copy.orgId, adminProfile };
}

/** Invites a user as the admin (with `invite`'s extra flags) and enrols them into `profile`; resolves to their address. */
export async function inviteAndEnrol(
  org: CliOrg,
  name: string,
  profile: string,
  protection: readonly string[] = ['--unattended'],
  invite: readonly string[] = [],
): Promise<string> {
  const inv = await custosJson<{ enrolmentCode: string; address: string }>([
    'admin',
    'invite',
    '--user',
    name,
    ...invite,
    '--profile',
    org.adminProfile,
  ]);
  const enrolled = await custosJson<{ address: string }>([
    'enroll',
    inv.enrolmentCode,
    '--server',
    org.url,
    '--profile',
    profile,
    '--name',
    name,
    ...protection,
  ]);
  if (enrolled.address !== inv.address) throw new Error('enrolled address differs from the invited one');
  return inv.address;
}

/**
 * Enrols both officers of `cliOrg`'s ceremony (run in `dir`) as console officers (users
 * `officer-1`, `officer-2`), writes their shared passphrase file, and has officer 1 seal index
 * keys to the devices enrolled so far; resolves to each officer's `--profile … --passphrase-file …`.
 */
export async function enrolCeremonyOfficers(org: CliOrg, dir: string): Promise<string[][]> {
  const passphraseFile = join(dir, 'officer.pass');
  writeFileSync(passphraseFile, `${OFFICER_PASSPHRASE}\n`, { mode: 0o600 });
  const officers: string[][] = [];
  for (const k of [1, 2]) {
    const officerDir = join(dir, 'org', 'officers', `officer-${k}`);
    const inv = await custosJson<{ enrolmentCode: string }>([
      'admin',
      'invite',
      '--user',
      `officer-${k}`,
      '--role',
      'officer',
      '--profile',
      org.adminProfile,
    ]);
    await custosJson(['console', 'enroll', inv.enrolmentCode, '--profile', officerDir]);
    officers.push(['--profile', officerDir, '--passphrase-file', passphraseFile]);
  }
  await custosJson(['console', 'grant-index-keys', ...officers[0]!]);
  return officers;
}
