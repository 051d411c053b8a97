/**
 * The officer act of `custos demo`: officer 1 of the demo's ceremony enrols a console device
 * and seals index keys to the members' devices before they talk; after the conversation it
 * searches, places a legal hold, exports the group conversation as RSMF, verifies the
 * export offline and checks completeness. Every step runs the very command function
 * `custos console …` / `custos verify` runs (with `--json`, its output captured), so the
 * demo shows what those commands do, not a re-implementation of them.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { CustosClient, PeerUser } from '@custos/client';
import type { CliIo } from '../cli.js';
import { formatAddress } from '../address-book.js';
import { CliFailure } from '../command-runner.js';
import { runConsoleCompleteness } from './console-completeness.js';
import { runConsoleEnroll } from './console-enroll.js';
import { runConsoleExport } from './console-export.js';
import { runConsoleGrantIndexKeys } from './console-grant-index-keys.js';
import { runConsoleHold } from './console-hold.js';
import { runConsoleSearch } from './console-search.js';
import { runVerifyExport } from './verify-export.js';

/** A `custos` command function: arguments and streams in, exit code out. */
type CommandFn = (args: readonly string[], io: CliIo) => Promise<number>;

/** Bytes of randomness in each generated officer passphrase (base64url: 32 characters). */
const PASSPHRASE_BYTES = 24;
/** Searches tried while the server's indexer catches up (it runs about a second behind ingest). */
const SEARCH_ATTEMPTS = 40;
/** Pause between those searches. */
const SEARCH_PAUSE_MS = 500;
/** The matter code of the demo's hold (a code, as docs/officers.md advises, not a description). */
export const DEMO_MATTER = 'DEMO-2026-001';

/** The demo's officer passphrases: generated, written 0600 into `folder` (inside the demo's), never printed. */
export function demoOfficerPassphrases(folder: string, count: number): { list: string[]; files: string[] } {
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const list = Array.from({ length: count }, () => randomBytes(PASSPHRASE_BYTES).toString('base64url'));
  const files = list.map((p, i) => {
    const file = join(folder, `officer-${i + 1}.pass`);
    writeFileSync(file, `${p}\n`, { mode: 0o600 });
    return file;
  });
  return { list, files };
}

/** Officer 1 of the demo's ceremony: its profile folder and the flags that open it. */
export interface DemoOfficer {
  readonly profile: string;
  /** `--profile DIR --passphrase-file FILE`. */
  readonly args: readonly string[];
}

/** What one command run printed (stdout parsed as JSON) and its exit code. */
interface StepRun<T> {
  readonly code: number;
  readonly data: T;
  readonly notes: string;
}

/** Runs `fn` with `args --json`, its stdout and stderr captured. */
async function step<T>(name: string, fn: CommandFn, args: readonly string[]): Promise<StepRun<T>> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let notes = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (notes += d.toString()));
  const code = await fn([...args, '--json'], { stdout, stderr });
  let data: T;
  try {
    data = JSON.parse(out) as T;
  } catch {
    throw new CliFailure(
      'DEMO_STEP_FAILED',
      `${name} printed no JSON result (exit ${code}): ${notes.trim()}`,
    );
  }
  return { code, data, notes };
}

/** Fails the demo naming the step, with the command's own error line. */
function failed(name: string, r: StepRun<unknown>): never {
  const err = (r.data as { error?: { code?: string; message?: string } }).error;
  throw new CliFailure(
    'DEMO_STEP_FAILED',
    `${name} failed (exit ${r.code}): ${err === undefined ? r.notes.trim() : `${err.code}: ${err.message}`}`,
  );
}

/**
 * Enrols officer 1's console device (a user with the role officer, created by `admin`),
 * and seals the current buckets' index keys to every member device, which then fetches
 * them, so that what they archive from now on is searchable.
 */
export async function setUpDemoOfficer(
  admin: CustosClient,
  profile: string,
  passphraseFile: string,
  members: readonly CustosClient[],
  say: (line: string) => void,
): Promise<DemoOfficer> {
  const user = await admin.admin().createUser('officer');
  const code = await admin.admin().issueEnrolmentCode(user.userId);
  const enrolled = await step<{ deviceId: string }>('console enroll', runConsoleEnroll, [
    code.enrolmentCode,
    '--profile',
    profile,
  ]);
  if (enrolled.code !== 0) failed('console enroll', enrolled);
  const args = ['--profile', profile, '--passphrase-file', passphraseFile];
  const grant = await step<{ granted: unknown[]; buckets: string[] }>(
    'console grant-index-keys',
    runConsoleGrantIndexKeys,
    args,
  );
  if (grant.code !== 0) failed('console grant-index-keys', grant);
  for (const m of members) await m.refreshKeys();
  say(
    `officer 1 enrolled console device ${enrolled.data.deviceId}; grant-index-keys sealed ${grant.data.granted.length} index key(s) over ${grant.data.buckets.length} bucket(s)`,
  );
  return { profile, args };
}

/** What the officer act found, for `--json` and the test. */
export interface DemoOfficerReport {
  readonly search: {
    readonly query: string;
    readonly attempts: number;
    readonly matches: number;
    readonly first: { text: string | null; sender: string; proof: string; signature: string } | null;
  };
  readonly hold: { readonly holdId: string; readonly matter: string; readonly custodian: string };
  readonly export: {
    readonly out: string;
    readonly records: number;
    readonly files: number;
    readonly manifestSha256: string;
  };
  readonly verify: VerifyOut;
  readonly completeness: {
    readonly complete: boolean;
    readonly findings: readonly unknown[];
    readonly devices: number;
    readonly recordsChecked: number;
  };
  readonly logKey: string;
}

interface SearchOut {
  matches: { text?: string; sender: string; proof: string; signature: string }[];
  log: { verifierKey: string };
}
interface HoldOut {
  hold: { holdId: string; matter: string; custodian: string | null };
  bucketsWithoutWrap: string[];
}
interface ExportOut {
  records: number;
  files: string[];
  manifestSha256: string;
}
/** What `custos verify --json` printed (the demo keeps its main fields). */
export interface VerifyOut {
  [field: string]: unknown;
  ok: boolean;
  records: number;
  rsmfFiles: number;
  code?: string;
  message?: string;
}
interface CompletenessOut {
  complete: boolean;
  findings: unknown[];
  devices: unknown[];
  recordsChecked: number;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The officer act after the conversation: search `query` (retried while the indexer
 * catches up), a custodian hold on `custodian`, an RSMF export of `conversationId` into
 * `dir`, `custos verify` of it against the log key search pinned, and a completeness report.
 */
export async function runDemoOfficerAct(
  officer: DemoOfficer,
  o: { query: string; custodian: PeerUser; conversationId: string; dir: string },
  say: (line: string) => void,
): Promise<DemoOfficerReport> {
  say(`officer 1 searches the archive for "${o.query}" (blind tokens; the server never sees the words) …`);
  let search: StepRun<SearchOut> | undefined;
  let attempts = 0;
  while (attempts < SEARCH_ATTEMPTS) {
    attempts++;
    search = await step<SearchOut>('console search', runConsoleSearch, [o.query, ...officer.args]);
    if (search.code !== 0) failed('console search', search);
    if (search.data.matches.length > 0) break;
    await pause(SEARCH_PAUSE_MS);
  }
  const hits = search!.data.matches;
  const first = hits[0];
  say(
    first === undefined
      ? `search: NO match after ${attempts} attempt(s)`
      : `search: ${hits.length} match(es); first: ${first.sender}: "${first.text ?? ''}" (signature ${first.signature}, proof ${first.proof})`,
  );

  const custodian = formatAddress(o.custodian);
  const hold = await step<HoldOut>('console hold create', runConsoleHold, [
    'create',
    '--custodian',
    custodian,
    '--matter',
    DEMO_MATTER,
    ...officer.args,
  ]);
  if (hold.code !== 0) failed('console hold create', hold);
  say(`legal hold ${hold.data.hold.holdId} (${hold.data.hold.matter}) on custodian ${custodian}: placed`);

  const out = join(o.dir, 'export-rsmf');
  const exported = await step<ExportOut>('console export', runConsoleExport, [
    '--format',
    'rsmf',
    '--conversation',
    o.conversationId,
    '--out',
    out,
    ...officer.args,
  ]);
  if (exported.code !== 0) failed('console export', exported);
  say(
    `RSMF export of the group: ${exported.data.records} record(s), ${exported.data.files.length} file(s) in ${out}; custody manifest ${exported.data.manifestSha256.slice(0, 16)}…`,
  );

  const logKey = search!.data.log.verifierKey;
  const verified = await step<VerifyOut>('verify', runVerifyExport, [out, '--log-key', logKey]);
  say(
    verified.data.ok
      ? `custos verify ${out}: ok — ${verified.data.records} record(s), ${verified.data.rsmfFiles} .rsmf file(s), every signature and inclusion proof checked offline against the pinned log key`
      : `custos verify ${out}: FAILED ${verified.data.code ?? ''}: ${verified.data.message ?? ''}`,
  );

  const report = await step<CompletenessOut>('console completeness', runConsoleCompleteness, officer.args);
  // Exit 1 with a report means findings (shown); without one, the check itself failed.
  if (report.code !== 0 && typeof report.data.complete !== 'boolean') failed('console completeness', report);
  say(
    `completeness: ${report.data.complete ? 'complete' : `INCOMPLETE (${report.data.findings.length} finding(s))`} — ${report.data.devices.length} device(s), ${report.data.recordsChecked} record(s) opened and verified`,
  );

  return {
    search: {
      query: o.query,
      attempts,
      matches: hits.length,
      first:
        first === undefined
          ? null
          : {
              text: first.text ?? null,
              sender: first.sender,
              proof: first.proof,
              signature: first.signature,
            },
    },
    hold: { holdId: hold.data.hold.holdId, matter: hold.data.hold.matter, custodian },
    export: {
      out,
      records: exported.data.records,
      files: exported.data.files.length,
      manifestSha256: exported.data.manifestSha256,
    },
    verify: verified.data,
    completeness: {
      complete: report.data.complete,
      findings: report.data.findings,
      devices: report.data.devices.length,
      recordsChecked: report.data.recordsChecked,
    },
    logKey,
  };
}
