/**
 * `custos verify PATH`: checks an export offline (docs/exports.md §6) — file hashes, the
 * custody manifest, sealed records against their hashes, device batch signatures,
 * inclusion proofs, the checkpoint signature against the log key recorded in the export
 * and, with --log-key or --state, against a pinned key — and names the first failure.
 */
import {
  isConsoleError,
  isExportError,
  readWitnessState,
  verifyExportDir,
  type VerifyExportReport,
} from '@custos/console';
import { isCustosError, parseVerifierKey } from '@custos/core';
import { formatAddress, parseRecordAddress } from '../address-book.js';
import type { CliIo } from '../cli.js';
import { optionalString, parseFlags, UsageError } from '../command-flags.js';
import { gapReasonLabel } from '../gap-reasons.js';
import { terminalSafe } from '../terminal-text.js';

/** Usage of `custos verify PATH`. */
export const VERIFY_EXPORT_USAGE = `Usage: custos verify PATH [--log-key VKEY | --state FILE] [--json]

Checks an export made by 'custos console export' without any network access: every file
against export-files.json, the custody manifest, each sealed record against its hash, the
device batch signatures, each device's identity key against its enrolment in the log
(device-enrolments.json), each record's inclusion proof, each gap declaration (custody
manifest version 3: device signature, inclusion proof, and that its run is exactly a hole of
the export), the checkpoint signature against the log key recorded in the export, and
(custody manifest version 2 or later) the text: each record opened with its own record key
from the manifest, and the RSMF, EML, MBOX or JSON text compared with it. Pin the log key
(obtained out of band from the organisation) with --log-key, or with --state, the state file
of 'custos verify log'; without either, the export is only checked against the key it
carries. Lists the runs devices declared lost and, separately, the holes in a device's
exported sequence that no declaration explains. Exit 1 naming the first thing that fails.

  PATH               the export directory (or any file in it)
  --log-key VKEY     the organisation's log verifier key
  --state FILE       take the pinned log key from a 'custos verify log' state file
  --json             machine-readable result on stdout
`;

const FLAGS = { 'log-key': 'string', state: 'string', json: 'boolean', help: 'boolean' } as const;

function pinnedKey(flags: Map<string, string | true>): string | undefined {
  const key = optionalString(flags, 'log-key');
  const state = optionalString(flags, 'state');
  if (key !== undefined && state !== undefined) throw new UsageError('give --log-key or --state, not both');
  if (key !== undefined) {
    // A mistyped or cut key is a command-line mistake: compared as given, it failed the export
    // as LOG_KEY_MISMATCH ("FAILED"), which reads as a forged export.
    try {
      parseVerifierKey(key.trim());
    } catch (e) {
      throw new UsageError(
        `--log-key is not a log verifier key (${e instanceof Error ? e.message : 'malformed'}): give the whole key, ORIGIN+KEYID+KEY, in quotes, as 'custos console export' or 'custos verify log' prints it`,
      );
    }
  }
  if (state === undefined) return key;
  const s = readWitnessState(state);
  if (s === undefined) throw new UsageError(`no witness state at ${state}`);
  return s.verifierKey;
}

function textLine(r: VerifyExportReport): string {
  switch (r.textBinding) {
    case 'verified':
      return `Text: every record opened with its record key; the ${r.format} text is exactly what the sealed records hold.`;
    case 'records-opened':
      return `Text: every record opened with its record key; the ${r.format} is a rendering whose text is not compared (a JSON or RSMF export proves the text).`;
    case 'not-checked':
      return 'Text NOT checked: the custody manifest is version 1 and carries no record keys, so the exported text is not bound to the records.';
  }
}

/**
 * The custodian as every other command writes a user, USERID@ORGID: the manifest keeps the
 * records' ORGID.USERID, and the export's own summary already prints the address, so the
 * auditor saw one person under two ids. Anything else (an organisation) is kept.
 */
function custodianText(custodian: string): string {
  const u = parseRecordAddress(custodian);
  return u === undefined ? custodian : formatAddress(u);
}

/** Holes listed one per line before the rest is only counted (all are in --json). */
const MAX_LISTED_HOLES = 20;

const recordsText = (first: number, last: number): string =>
  first === last ? `record ${first}` : `records ${first}–${last}`;

/**
 * The devices' sequences: each run a device declared lost (its signed declaration, proven
 * in the log, carried by a version-3 manifest) and, separately, each hole no declaration
 * explains — the two read differently to an auditor, so they are never merged.
 */
function sequenceLines(r: VerifyExportReport): string[] {
  const listed = <T>(items: readonly T[], line: (t: T) => string): string[] => [
    ...items.slice(0, MAX_LISTED_HOLES).map(line),
    ...(items.length > MAX_LISTED_HOLES
      ? [`  … and ${items.length - MAX_LISTED_HOLES} more (all are listed by --json).`]
      : []),
  ];
  const lines: string[] = [];
  if (r.gapDeclarations === 'not-carried')
    lines.push(
      'Gap declarations NOT carried: the custody manifest predates version 3, so a hole below may be one its device declared lost.',
    );
  if (r.declaredLost.length > 0) {
    lines.push(
      `Declared lost: ${r.declaredLost.length} run(s), each signed by its device and proven in the log:`,
    );
    lines.push(
      ...listed(
        r.declaredLost,
        (g) =>
          `  device ${g.device} ${recordsText(g.firstSeq, g.lastSeq)}: declared lost by the device (reason ${gapReasonLabel(g.reason)}, log index ${g.logIndex})`,
      ),
    );
  }
  if (r.unexplainedHoles.length > 0) {
    lines.push(
      `Holes no declaration explains: ${r.unexplainedHoles.length} (records not in this export: left out by its selection, or missing from the archive):`,
    );
    lines.push(
      ...listed(r.unexplainedHoles, (h) => `  device ${h.device} ${recordsText(h.firstSeq, h.lastSeq)}`),
    );
  } else {
    lines.push("Holes no declaration explains: none in the devices' exported sequences.");
  }
  return lines;
}

/** The human report of a verified export. */
export function describeVerified(path: string, r: VerifyExportReport): string {
  const lines = [
    `Export ${path} verified (${r.format}): ${r.records} records, ${r.files} files, ${r.batches} device batch signatures.`,
    `Custodian ${custodianText(r.custodian)}; events ${r.range.begin} to ${r.range.end}.`,
    `Device identity keys: ${r.identityKeysChecked} device(s), each the key its enrolment committed to in the log.`,
    ...sequenceLines(r),
    ...r.checkpoints.map(
      (c) => `Proven against checkpoint ${c.origin} size ${c.treeSize} root ${c.rootHash}.`,
    ),
    `Custody manifest SHA-256: ${r.manifestSha256}`,
    textLine(r),
    r.logKeyPinned
      ? `Log key (pinned): ${r.logKey}`
      : `Log key (from the export, NOT pinned): ${r.logKey}\nCompare it with the key the organisation publishes, or pass --log-key.`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Runs `custos verify PATH …`; resolves to the exit code. */
export async function runVerifyExport(args: readonly string[], io: CliIo): Promise<number> {
  // What an export holds is not ours: no control sequence reaches the terminal (terminal-text.ts).
  const say = (line: string): void => void io.stderr.write(`custos verify: ${terminalSafe(line)}\n`);
  const [path, ...rest] = args;
  let json = false;
  try {
    if (path === undefined || path === '--help') {
      io.stdout.write(VERIFY_EXPORT_USAGE);
      return path === undefined ? 2 : 0;
    }
    const flags = parseFlags(rest, FLAGS);
    json = flags.has('json');
    if (flags.has('help')) {
      io.stdout.write(VERIFY_EXPORT_USAGE);
      return 0;
    }
    if (io.checkOnly === true) return 0;
    const pinned = pinnedKey(flags);
    const tty = !json && (io.stderr as { isTTY?: boolean }).isTTY === true;
    const report = verifyExportDir(path, {
      ...(pinned === undefined ? {} : { pinnedLogKey: pinned }),
      ...(tty
        ? { onProgress: (done: number, total: number) => void io.stderr.write(`\rrecords ${done}/${total}`) }
        : {}),
    });
    if (tty) io.stderr.write('\n');
    io.stdout.write(
      json
        ? `${JSON.stringify({ ok: true, path, ...report }, null, 2)}\n`
        : terminalSafe(describeVerified(path, report)),
    );
    return 0;
  } catch (e) {
    if (e instanceof UsageError || isConsoleError(e)) {
      say(`${e.message}. Run 'custos verify --help'.`);
      return 2;
    }
    if (isExportError(e)) {
      if (json)
        io.stdout.write(
          `${JSON.stringify({ ok: false, path, code: e.code, message: e.message, ...e.subject }, null, 2)}\n`,
        );
      say(`FAILED ${e.code}: ${e.message}`);
      return 1;
    }
    say(`FAILED: ${isCustosError(e) || e instanceof Error ? e.message : 'unknown error'}`);
    return 1;
  }
}
