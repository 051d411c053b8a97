/**
 * `custos console alerts [--since DATE]`: the completeness findings plus the security
 * alerts the server raised (rate-limit bursts on officer routes), each read from the
 * verified log (docs/officers.md, "Completeness and alerts"). Exit 0 when there is none, 1
 * when there is at least one.
 */
import { runAlerts, type Alert, type AlertsReport } from '@custos/console';
import type { CliIo } from '../cli.js';
import { optionalString } from '../command-flags.js';
import { runCommand } from '../command-runner.js';
import { describeFinding, parseSince, reportJson } from './console-completeness.js';
import { OFFICER_FLAGS, OFFICER_OPTIONS_HELP, withOfficerSession } from './console-officer.js';

const USAGE = `Usage: custos console alerts --profile DIR [--since DATE] [--passphrase-file FILE] [--json]

Lists what needs an officer's attention: every finding of 'custos console completeness'
(gaps, unarchived relay receipts, silent devices, records that fail verification) and every
alert the server raised — bursts of searches, record reads or exports by one device beyond
the rate limit. Server alerts are entries of the org's log: they are read from the verified
log, so the server cannot drop one; their details are shown when the server's document
hashes to the entry. Exit 0: no alerts. Exit 1: at least one (or the check failed).

  --since DATE            from DATE on: YYYY-MM-DD (UTC) or an ISO 8601 time; default: everything
${OFFICER_OPTIONS_HELP}
See docs/officers.md, "Completeness and alerts".
`;

const FLAGS = { ...OFFICER_FLAGS, since: 'string' } as const;

function describe(a: Alert): string {
  if (a.source === 'completeness') return describeFinding(a);
  const when = new Date(a.time).toISOString().replace('.000Z', 'Z');
  return `ALERT     ${a.kind} device ${a.deviceId} at ${when} (log ${a.logIndex})${a.detail === null ? ' (the server served no matching document)' : `: ${a.detail}`}`;
}

function humanLines(r: AlertsReport): string[] {
  const lines = r.alerts.map(describe);
  const server = r.alerts.filter((a) => a.source === 'server').length;
  lines.push(
    r.alerts.length === 0
      ? 'No alerts.'
      : `${r.alerts.length} alert(s): ${r.alerts.length - server} completeness finding(s), ${server} server alert(s).`,
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
      const r = await withOfficerSession(ctx, (s) =>
        runAlerts(s, {
          ...(since === undefined ? {} : { since }),
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
