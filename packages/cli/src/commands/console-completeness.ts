/**
 * `custos console completeness [--since DATE]`: is the archive complete? (SEC 17a-4(f)(2)(ii);
 * docs/officers.md, "Completeness and alerts"). Exit 0 when nothing is missing, 1 when
 * anything is. `custos console completeness policy` shows or sets the org's policy.
 */
import {
  runCompleteness,
  setCompletenessPolicy,
  type CompletenessFinding,
  type CompletenessReport,
} from '@custos/console';
import type { CliIo } from '../cli.js';
import { optionalString, UsageError } from '../command-flags.js';
import { runCommand } from '../command-runner.js';
import { gapReasonLabel } from '../gap-reasons.js';
import { OFFICER_FLAGS, OFFICER_OPTIONS_HELP, withOfficerSession } from './console-officer.js';

const USAGE = `Usage: custos console completeness --profile DIR [--since DATE] [--passphrase-file FILE] [--json]
       custos console completeness policy --profile DIR [--silent-after DURATION] [--grace DURATION]
                                          [--passphrase-file FILE] [--json]

Checks that the archive holds everything it should, without taking the server's word:
every log entry is verified against the signed checkpoint, and every device's records are
fetched, opened and verified. Reports
  - sequence gaps per device (the log skips a number, the server no longer serves a logged
    record, or the server's own report admits a gap), including runs a device declared
    lost in a signed gap declaration (after a server restore), shown with the declaration,
  - relay receipts older than the grace period with no archive record of a device of this
    org listing the envelope's hash (records are opened to read it),
  - devices silent (no archive record) for longer than the policy,
  - served records that fail verification,
  - dispositions in the log whose certificate or plan digest does not verify.
Records a verified disposition approved (m officers' approvals, the plan's leaf digest
recomputed from the log) are disposed, not missing; the report names each certificate.
Exit 0: complete. Exit 1: something is missing (listed), or the check could not be done.

  --since DATE            report only what happened from DATE on: YYYY-MM-DD (UTC) or an
                          ISO 8601 time; default: everything

policy: without --silent-after/--grace, prints the policy in force; with them, sets it
(a completeness-policy entry in the log). Defaults: silent after 7d, grace 24h.
  --silent-after DURATION e.g. 72h, 7d (1h–366d)
  --grace DURATION        e.g. 0s, 30m, 24h (0–30d)
${OFFICER_OPTIONS_HELP}
See docs/officers.md, "Completeness and alerts".
`;

const FLAGS = { ...OFFICER_FLAGS, since: 'string', 'silent-after': 'string', grace: 'string' } as const;

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration like `30m`, `24h`, `7d` in milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(0|[1-9][0-9]{0,6})(s|m|h|d)$/.exec(text);
  if (m === null) throw new UsageError(`--${flag} must be a duration such as 30m, 24h or 7d`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** --since as ms since the epoch: a UTC day (YYYY-MM-DD) or an ISO 8601 time with a zone. */
export function parseSince(text: string): number {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const t = day
    ? Date.parse(`${text}T00:00:00Z`)
    : /(Z|[+-]\d{2}:\d{2})$/.test(text)
      ? Date.parse(text)
      : NaN;
  if (!Number.isFinite(t) || (day && new Date(t).toISOString().slice(0, 10) !== text)) {
    throw new UsageError('--since must be a date YYYY-MM-DD or an ISO 8601 time with a zone (…Z)');
  }
  return t;
}

/** A duration in the largest whole unit (`7d`, `90m`). */
export function formatDuration(ms: number): string {
  for (const u of ['d', 'h', 'm'] as const)
    if (ms !== 0 && ms % UNITS[u]! === 0) return `${ms / UNITS[u]!}${u}`;
  return `${Math.round(ms / 1000)}s`;
}

const iso = (t: number): string => new Date(t).toISOString().replace('.000Z', 'Z');

/** One line per finding (shared with `console alerts`). */
export function describeFinding(f: CompletenessFinding): string {
  switch (f.kind) {
    case 'gap':
      return (
        `GAP       device ${f.deviceId}: sequence ${f.from === f.to ? f.from : `${f.from}–${f.to}`} missing (${f.evidence.join(', ')})` +
        (f.declaration === undefined
          ? ''
          : `; declared lost by the device (${gapReasonLabel(f.declaration.reason)}, ${iso(f.declaration.time)}, log ${f.declaration.logIndex})`)
      );
    case 'unmatched-receipt':
      return `UNARCHIVED device ${f.deviceId}: envelope ${f.envelopeHash.slice(0, 16)}… (${f.sender} → ${f.recipient}, ${iso(f.time)}, log ${f.logIndex}) has no archive record`;
    case 'silent-device':
      return `SILENT    device ${f.deviceId}: no archive record for ${formatDuration(f.silentForMs)}${f.lastRecordAt === null ? ' (never archived)' : ` (last ${iso(f.lastRecordAt)})`}`;
    case 'invalid-record':
      return `INVALID   device ${f.deviceId} record ${f.seq}: ${f.reason}`;
    case 'unverified-disposition':
      return `UNVERIFIED disposition certificate ${f.certificateHash.slice(0, 16)}… (log ${f.logIndex}${f.planId === null ? '' : `, plan ${f.planId.slice(0, 16)}…`}${f.bucketId === null ? '' : `, bucket ${f.bucketId}`}): ${f.reason}; its records count as missing`;
  }
}

/** The report as JSON (the verified log itself is left out). */
export function reportJson(r: CompletenessReport) {
  return {
    complete: r.complete,
    findings: r.findings,
    policy: r.policy,
    devices: r.devices,
    recordsChecked: r.recordsChecked,
    recordsWithoutTokens: r.recordsWithoutTokens,
    bucketsWithoutWrap: r.bucketsWithoutWrap,
    dispositions: r.dispositions,
    recordsDisposed: r.recordsDisposed,
    log: r.log,
    since: r.since,
    checkedAt: r.checkedAt,
  };
}

/** The report as lines for a person. */
export function humanLines(r: CompletenessReport): string[] {
  const lines = r.findings.map(describeFinding);
  lines.push(
    `${r.complete ? 'Complete' : `INCOMPLETE: ${r.findings.length} finding(s)`}: ${r.devices.length} device(s), ` +
      `${r.recordsChecked} record(s) opened and verified, log of ${r.log.treeSize} entries verified` +
      `${r.since === 0 ? '' : ` (since ${iso(r.since)})`}; policy: silent after ${formatDuration(r.policy.silentAfterMs)}, ` +
      `grace ${formatDuration(r.policy.receiptGraceMs)} (${r.policy.source === 'default' ? 'defaults' : `set ${iso(r.policy.setAt!)}`}).`,
  );
  if (r.recordsWithoutTokens > 0) {
    const devices = r.devices.filter((d) => d.recordsWithoutTokens > 0);
    lines.push(
      `NOT SEARCHABLE: ${r.recordsWithoutTokens} record(s) of ${devices.length} device(s) (${devices.map((d) => `${d.deviceId} ${d.recordsWithoutTokens}`).join(', ')}) ` +
        `carry no search tokens: their device did not yet hold its bucket's index key. Search, query and conversation holds, ` +
        `lexicon review and exports by query do not reach them; custodian and date holds and 'custos console export --device' do. ` +
        `Run 'custos console grant-index-keys' after every enrolment.`,
    );
  }
  for (const d of r.dispositions.filter((x) => x.problem === null && x.records > 0)) {
    const buckets = d.buckets.filter((b) => b.problem === null && b.approved > b.kept);
    lines.push(
      `DISPOSED: ${d.records} record(s) under certificate ${d.certificateHash.slice(0, 16)}… (plan ${d.planId!.slice(0, 16)}…, log ${d.logIndex}, ` +
        `executed ${iso(d.executedAt!)}, approved by officer(s) ${d.approvers.map((i) => i + 1).join(', ')}): ${buckets.map((b) => `${b.bucketId} ${b.approved - b.kept}`).join(', ')}. ` +
        `Lawfully destroyed, not missing.`,
    );
  }
  if (r.bucketsWithoutWrap.length > 0)
    lines.push(
      `You hold no wrap of ${r.bucketsWithoutWrap.join(', ')}: records there were not opened; another officer must check them.`,
    );
  return lines;
}

/** Runs `custos console completeness`. */
export function runConsoleCompleteness(args: readonly string[], io: CliIo): Promise<number> {
  const policyMode = args[0] === 'policy';
  return runCommand(
    {
      name: `console completeness${policyMode ? ' policy' : ''}`,
      usage: USAGE,
      flags: FLAGS,
      maxPositionals: 0,
    },
    policyMode ? args.slice(1) : args,
    io,
    async (ctx) => {
      const silent = optionalString(ctx.flags, 'silent-after');
      const grace = optionalString(ctx.flags, 'grace');
      const sinceText = optionalString(ctx.flags, 'since');
      if (!policyMode) {
        if (silent !== undefined || grace !== undefined)
          throw new UsageError('--silent-after and --grace belong to `custos console completeness policy`');
        const since = sinceText === undefined ? undefined : parseSince(sinceText);
        const r = await withOfficerSession(ctx, (s) =>
          runCompleteness(s, {
            ...(since === undefined ? {} : { since }),
            onProgress: (m) => ctx.note(`custos console completeness: ${m}`),
          }),
        );
        ctx.result(humanLines(r), reportJson(r));
        return r.complete ? 0 : 1;
      }
      if (sinceText !== undefined) throw new UsageError('--since does not apply to `policy`');
      if ((silent === undefined) !== (grace === undefined))
        throw new UsageError('give both --silent-after and --grace (or neither, to show the policy)');
      const r = await withOfficerSession(ctx, async (s) => {
        if (silent !== undefined && grace !== undefined) {
          await setCompletenessPolicy(s, {
            silentAfterMs: parseDuration('silent-after', silent),
            receiptGraceMs: parseDuration('grace', grace),
          });
        }
        // Read back through the full check, so what is printed is the policy verified against the log.
        return runCompleteness(s, { onProgress: (m) => ctx.note(`custos console completeness: ${m}`) });
      });
      const p = r.policy;
      ctx.result(
        `Completeness policy: silent after ${formatDuration(p.silentAfterMs)}, receipt grace ${formatDuration(p.receiptGraceMs)} ` +
          `(${p.source === 'default' ? 'defaults' : `set by device ${p.setBy} at ${iso(p.setAt!)}, checked against the log`}).`,
        p,
      );
      return 0;
    },
  );
}
