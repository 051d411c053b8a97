/**
 * `custos console completeness [--since DATE]`: is the archive complete? (SEC 17a-4(f)(2)(ii);
 * docs/officers.md, "Completeness and alerts"). Exit 0 when nothing is missing but what
 * officers acknowledged, 1 otherwise. `--acknowledge ID --reason TEXT` acknowledges findings;
 * `custos console completeness policy` shows or sets the org's policy.
 */
import {
  acceptedText,
  acknowledgeFindings,
  checkFindingIds,
  checkReason,
  runCompleteness,
  setCompletenessPolicy,
  type AcknowledgedFinding,
  type CompletenessReport,
  type IdentifiedFinding,
  type OpenFinding,
  type RevokedDeviceFinding,
  type VerifiedAcknowledgement,
  verifiedLogReader,
} from '@custos/console';
import type { CliIo } from '../cli.js';
import { optionalString, UsageError } from '../command-flags.js';
import { runCommand } from '../command-runner.js';
import { gapReasonLabel } from '../gap-reasons.js';
import { OFFICER_FLAGS, OFFICER_OPTIONS_HELP, withOfficerSession } from './console-officer.js';

const USAGE = `Usage: custos console completeness --profile DIR [--since DATE] [--passphrase-file FILE] [--json]
       custos console completeness --acknowledge ID[,ID…] --reason TEXT --profile DIR
                                   [--passphrase-file FILE] [--json]
       custos console completeness policy --profile DIR [--silent-after DURATION] [--grace DURATION]
                                          [--passphrase-file FILE] [--json]

Checks that the archive holds everything it should, without taking the server's word:
every log entry is verified against the signed checkpoint (the log is read whole once a run;
later reads fetch only what it grew by), and every device's records are fetched, opened and
verified. Reports
  - sequence gaps per device (the log skips a number, the server no longer serves a logged
    record, or the server's own report admits a gap), including runs a device declared
    lost in a signed gap declaration (after a server restore), shown with the declaration,
  - relay receipts older than the grace period with no archive record of a device of this
    org listing the envelope's hash (records are opened to read it),
  - devices silent (no archive record) for longer than the policy,
  - served records that fail verification,
  - dispositions in the log whose certificate or plan digest does not verify,
  - revoked devices whose revocation explains records never archived or handed in late,
  - legal holds on which the server's hold listing and the log's hold acts disagree (a hold
    placed and not released that is not listed as active, or a listed hold whose acts are
    not in the log as listed), and query or conversation holds whose listed scope could not
    be matched to their act within the check's budget (256,000 candidate documents a run):
    whatever --since, and never acknowledgeable.
  - officer-device bindings in the log (officer-bind acts) whose statement the server does
    not serve, serves altered, or serves without the signature of an officer in office or
    naming another org or device: whatever --since, and never acknowledgeable.
Records a verified disposition approved (m officers' approvals, the plan's leaf digest
recomputed from the log) are disposed, not missing; the report names each certificate.
Each finding ends with its id in [brackets]. Findings an officer acknowledged (signed by an
officer of org.json, in the verified log) are listed apart as ACKNOWLEDGED and do not fail.
Exit 0: complete, or every finding acknowledged. Exit 1: a finding no officer acknowledged
(listed), or the check could not be done.

  --since DATE            report only what happened from DATE on: YYYY-MM-DD (UTC) or an
                          ISO 8601 time; default: everything
  --acknowledge ID[,ID…]  acknowledge these current findings (ids as printed): after an
                          investigation explained them (records lost with a wiped phone, a
                          lost device). Runs the check first; each must be a current finding
                          of this org not yet acknowledged, or nothing is sent. Each becomes a
                          statement signed with your officer key and an audit entry in the log.
                          A new finding, even of the same device, still fails. A revoked
                          device's finding is its revocation: the acknowledgement signs what it
                          explains now (unarchived receipts, records handed in, runs declared
                          lost) and covers it while there is no more; beyond that it fails
                          again (NOT COVERED: …) and can be acknowledged again.
  --reason TEXT           with --acknowledge: why (one line, up to 2000 characters; the server
                          keeps it in clear: no message content)

policy: without --silent-after/--grace, prints the policy in force; with them, sets it
(a completeness-policy entry in the log). Defaults: silent after 7d, grace 24h.
  --silent-after DURATION e.g. 72h, 7d (1h–366d)
  --grace DURATION        e.g. 0s, 30m, 24h (0–30d)
${OFFICER_OPTIONS_HELP}
See docs/officers.md, "Completeness and alerts".
`;

const FLAGS = {
  ...OFFICER_FLAGS,
  since: 'string',
  'silent-after': 'string',
  grace: 'string',
  acknowledge: 'string',
  reason: 'string',
} as const;

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

/**
 * One line per finding, its id in brackets (shared with `console alerts`); then, for one an
 * earlier acknowledgement covered less of, what it did not accept and whose it was.
 */
export function describeFinding(f: OpenFinding): string {
  const x = f.exceedsAcknowledgement;
  return (
    `${findingText(f)} [${f.id}]` +
    (x === undefined
      ? ''
      : ` — NOT COVERED: ${x.beyond} by ${acknowledgementText(x.acknowledgement, x.acknowledgement.findingId === f.id ? '' : ` (as ${x.acknowledgement.findingId})`)}`)
  );
}

function findingText(f: IdentifiedFinding): string {
  switch (f.kind) {
    case 'gap':
      return (
        `GAP       device ${f.deviceId}: sequence ${f.from === f.to ? f.from : `${f.from}–${f.to}`} missing (${f.evidence.join(', ')})` +
        (f.declaration === undefined
          ? ''
          : `; declared lost by the device (${gapReasonLabel(f.declaration.reason)}, ${iso(f.declaration.time)}, log ${f.declaration.logIndex})`)
      );
    case 'unmatched-receipt':
      return (
        `UNARCHIVED device ${f.deviceId}: envelope ${f.envelopeHash.slice(0, 16)}… (${f.sender} → ${f.recipient}, ${iso(f.time)}, log ${f.logIndex}) has no archive record` +
        (f.deviceRevokedAt === undefined ? '' : ` (device revoked ${iso(f.deviceRevokedAt)}: see REVOKED)`)
      );
    case 'revoked-device':
      return describeRevoked(f);
    case 'silent-device':
      return `SILENT    device ${f.deviceId}: no archive record for ${formatDuration(f.silentForMs)}${f.lastRecordAt === null ? ' (never archived)' : ` (last ${iso(f.lastRecordAt)})`}`;
    case 'invalid-record':
      return `INVALID   device ${f.deviceId} record ${f.seq}: ${f.reason}`;
    case 'unverified-disposition':
      return `UNVERIFIED disposition certificate ${f.certificateHash.slice(0, 16)}… (log ${f.logIndex}${f.planId === null ? '' : `, plan ${f.planId.slice(0, 16)}…`}${f.bucketId === null ? '' : `, bucket ${f.bucketId}`}): ${f.reason}; its records count as missing`;
    case 'hold-mismatch':
      return `HOLD MISMATCH hold ${f.holdId}: ${f.problem}; the server's hold listing is not to be trusted (a plan made now would be refused)`;
    case 'officer-binding':
      return `BINDING   device ${f.deviceId} (officer-bind act, log ${f.logIndex}, ${f.aspect}): ${f.problem}; the server's word on which officer stands behind this device's acts is not to be trusted`;
  }
}

/** A revoked device's finding: who revoked it, what it had archived, what it handed in late or never. */
function describeRevoked(f: RevokedDeviceFinding): string {
  const by = f.revokedBy === f.deviceId ? 'retired itself' : `revoked by device ${f.revokedBy}`;
  const before =
    f.lastSeqBeforeRevocation === null
      ? 'it had archived nothing before'
      : `it had archived through sequence ${f.lastSeqBeforeRevocation}`;
  const late =
    f.handedIn === null
      ? ''
      : `; handed in ${f.handedIn.count} record(s) after the revocation (sequence ${f.handedIn.from === f.handedIn.to ? f.handedIn.from : `${f.handedIn.from}–${f.handedIn.to}`}, ` +
        `${iso(f.handedIn.firstAt)}${f.handedIn.lastAt === f.handedIn.firstAt ? '' : ` to ${iso(f.handedIn.lastAt)}`}): ` +
        'claims of a device no longer trusted, check them against the relay receipts';
  const declared =
    f.declaredAfter.length === 0
      ? ''
      : `; declared lost after the revocation: ${f.declaredAfter
          .map(
            (g) =>
              `sequence ${g.from === g.to ? g.from : `${g.from}–${g.to}`} (${g.reason}, log ${g.logIndex})`,
          )
          .join(', ')}`;
  const lost =
    f.unarchivedReceipts === 0
      ? ''
      : `; ${f.unarchivedReceipts} message(s) relayed before the revocation were never archived by it (its queue at revocation, not handed in: lost)`;
  return `REVOKED   device ${f.deviceId}: ${by} ${iso(f.revokedAt)}; ${before}${late}${declared}${lost}`;
}

/** The report as JSON (the verified log itself is left out). */
export function reportJson(r: CompletenessReport) {
  return {
    complete: r.complete,
    findings: r.findings,
    acknowledged: r.acknowledged,
    acknowledgementProblems: r.acknowledgementProblems,
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
    holdScopeCandidates: r.holdScopeCandidates,
  };
}

/** Who acknowledged a finding, when, where in the log (and `extra`), and why. */
function acknowledgementText(a: VerifiedAcknowledgement, extra = ''): string {
  return `officer ${a.officerIndex + 1} (device ${a.deviceId}), ${iso(a.acknowledgedAt)}, log ${a.logIndex}${extra}: ${a.reason}`;
}

/**
 * What an acknowledgement of a revoked device accepted, and the id it was made for when that is
 * not the finding's (an id from before states, which named the count).
 */
function acceptedSuffix(f: IdentifiedFinding, a: VerifiedAcknowledgement): string {
  if (a.accepted === undefined) return '';
  return ` (accepting ${acceptedText(a.accepted)}${a.findingId === f.id ? '' : `, as ${a.findingId}`})`;
}

/** An acknowledged finding's line. */
export function describeAcknowledged(f: AcknowledgedFinding): string {
  return `ACKNOWLEDGED ${describeFinding(f)} — by ${acknowledgementText(f.acknowledgement, acceptedSuffix(f, f.acknowledgement))}`;
}

/** The report as lines for a person. */
export function humanLines(r: CompletenessReport): string[] {
  const lines = r.findings.map(describeFinding);
  lines.push(...r.acknowledged.map(describeAcknowledged));
  for (const p of r.acknowledgementProblems) lines.push(`ACKNOWLEDGEMENT NOT COUNTED: ${p}`);
  const acked = r.acknowledged.length;
  const verdict = r.complete
    ? acked === 0
      ? 'Complete'
      : `Complete but for ${acked} acknowledged finding(s)`
    : `INCOMPLETE: ${r.findings.length} finding(s)${acked === 0 ? '' : ` (and ${acked} acknowledged)`}`;
  lines.push(
    `${verdict}: ${r.devices.length} device(s), ` +
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
      const acknowledge = optionalString(ctx.flags, 'acknowledge');
      const reason = optionalString(ctx.flags, 'reason');
      if (acknowledge === undefined && reason !== undefined)
        throw new UsageError('--reason goes with --acknowledge');
      if (acknowledge !== undefined) {
        if (policyMode) throw new UsageError('--acknowledge does not apply to `policy`');
        if (silent !== undefined || grace !== undefined || sinceText !== undefined)
          throw new UsageError('--acknowledge takes no --since, --silent-after or --grace');
        if (reason === undefined || reason.trim() === '')
          throw new UsageError('--acknowledge needs --reason TEXT: why the finding is explained');
        const ids = acknowledge.split(',').map((x) => x.trim());
        if (ids.some((x) => x === ''))
          throw new UsageError('--acknowledge takes finding ids separated by commas');
        const progress = (m: string) => ctx.note(`custos console completeness: ${m}`);
        const acks = await withOfficerSession(ctx, async (s) => {
          // What needs no check run is refused before one: a malformed or foreign id, a bad reason.
          checkReason(reason);
          checkFindingIds(s.orgId, ids);
          // One log reader for both: waiting for the acknowledgements reads only the new entries.
          const readLog = verifiedLogReader(s, progress);
          const current = await runCompleteness(s, { onProgress: progress, readLog });
          return acknowledgeFindings(s, ids, reason, current, { onProgress: progress, readLog });
        });
        ctx.result(
          acks.map(
            (a) =>
              `Acknowledged ${a.findingId} by ${acknowledgementText(a, a.accepted === undefined ? '' : ` (accepting ${acceptedText(a.accepted)})`)}. ` +
              (a.accepted === undefined
                ? 'It no longer fails the check; any other finding still does.'
                : 'It no longer fails the check while the revocation explains no more than that; any other finding still does.'),
          ),
          { acknowledged: acks },
        );
        return 0;
      }
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
