/**
 * `custos console alerts [--since DATE]`: the completeness findings, the security alerts the
 * server raised (rate-limit bursts on officer routes) and the daily volume alerts, each read
 * from the verified log (docs/officers.md, "Completeness and alerts"). Exit 0 when there is
 * none, 1 when there is at least one.
 */
import {
  DEFAULT_VOLUME_LIMITS,
  runAlerts,
  type Alert,
  type AlertsReport,
  type VolumeLimits,
} from '@custos/console';
import type { CliIo } from '../cli.js';
import { optionalString, requireInt, type ParsedFlags } from '../command-flags.js';
import { runCommand } from '../command-runner.js';
import { describeFinding, parseSince, reportJson } from './console-completeness.js';
import { OFFICER_FLAGS, OFFICER_OPTIONS_HELP, withOfficerSession } from './console-officer.js';

const USAGE = `Usage: custos console alerts --profile DIR [--since DATE] [--daily-searches N]
                             [--daily-records N] [--daily-reads N] [--passphrase-file FILE] [--json]

Lists what needs an officer's attention: every finding of 'custos console completeness'
(gaps, unarchived relay receipts, silent devices, records that fail verification), every
alert the server raised — bursts of searches, record reads or exports by one device beyond
the rate limit — and every officer device whose searches or records in one UTC day exceed
the daily limits below. All of it is read from the verified log, so the server cannot drop
an alert or lower a count; server alerts' details are shown when the server's document
hashes to the entry. Exit 0: no alerts. Exit 1: at least one (or the check failed).

  --since DATE            from DATE on: YYYY-MM-DD (UTC) or an ISO 8601 time; default: everything
  --daily-searches N      searches per officer device per UTC day (default ${DEFAULT_VOLUME_LIMITS.searches})
  --daily-records N       records returned by searches plus records exported, per device and
                          day (default ${DEFAULT_VOLUME_LIMITS.recordsViewed})
  --daily-reads N         records read by custodian device (export --device, the completeness
                          check), per device and day (default: not checked)
${OFFICER_OPTIONS_HELP}
See docs/officers.md, "Completeness and alerts".
`;

const FLAGS = {
  ...OFFICER_FLAGS,
  since: 'string',
  'daily-searches': 'string',
  'daily-records': 'string',
  'daily-reads': 'string',
} as const;

/** Largest daily limit accepted (a limit is a count of acts or records). */
const MAX_DAILY_LIMIT = 1_000_000_000;

/** The daily limits: the defaults, each replaced by its flag when given. */
function volumeLimits(flags: ParsedFlags): VolumeLimits {
  const limit = (name: string, fallback: number | undefined): number | undefined =>
    optionalString(flags, name) === undefined ? fallback : requireInt(flags, name, 1, MAX_DAILY_LIMIT);
  const searches = limit('daily-searches', DEFAULT_VOLUME_LIMITS.searches);
  const recordsViewed = limit('daily-records', DEFAULT_VOLUME_LIMITS.recordsViewed);
  const recordsRead = limit('daily-reads', DEFAULT_VOLUME_LIMITS.recordsRead);
  return {
    ...(searches === undefined ? {} : { searches }),
    ...(recordsViewed === undefined ? {} : { recordsViewed }),
    ...(recordsRead === undefined ? {} : { recordsRead }),
  };
}

const MEASURE_WORDS = {
  searches: 'searches',
  'records-viewed': 'records returned by searches and exported',
  'records-read': 'records read by custodian device',
} as const;

function describe(a: Alert): string {
  if (a.source === 'completeness') return describeFinding(a);
  if (a.source === 'volume')
    return (
      `VOLUME    device ${a.deviceId} on ${a.day}: ${a.count} ${MEASURE_WORDS[a.measure]}, daily limit ${a.limit} ` +
      `(log ${a.firstLogIndex}–${a.lastLogIndex})` +
      (a.uncounted === 0 ? '' : `; ${a.uncounted} act(s) not counted: the server served no matching document`)
    );
  const when = new Date(a.time).toISOString().replace('.000Z', 'Z');
  return `ALERT     ${a.kind} device ${a.deviceId} at ${when} (log ${a.logIndex})${a.detail === null ? ' (the server served no matching document)' : `: ${a.detail}`}`;
}

function humanLines(r: AlertsReport): string[] {
  const lines = r.alerts.map(describe);
  const server = r.alerts.filter((a) => a.source === 'server').length;
  const volume = r.alerts.filter((a) => a.source === 'volume').length;
  lines.push(
    r.alerts.length === 0
      ? 'No alerts.'
      : `${r.alerts.length} alert(s): ${r.alerts.length - server - volume} completeness finding(s), ${server} server alert(s), ${volume} volume alert(s).`,
  );
  return lines;
}

/** Runs `custos console alerts`. */
export function runConsoleAlerts(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'console alerts', usage: USAGE, flags: FLAGS, maxPositionals: 0 },
    args,
    io,
    async (ctx) => {
      const sinceText = optionalString(ctx.flags, 'since');
      const since = sinceText === undefined ? undefined : parseSince(sinceText);
      const volume = volumeLimits(ctx.flags);
      const r = await withOfficerSession(ctx, (s) =>
        runAlerts(s, {
          ...(since === undefined ? {} : { since }),
          volume,
          onProgress: (m) => ctx.note(`custos console alerts: ${m}`),
        }),
      );
      ctx.result(humanLines(r), {
        alerts: r.alerts,
        withoutDocument: r.withoutDocument,
        completeness: reportJson(r.completeness),
      });
      return r.alerts.length === 0 ? 0 : 1;
    },
  );
}
