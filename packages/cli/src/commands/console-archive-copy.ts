/**
 * `custos console archive-copy --out DIR`: the organisation's own verified copy of its sealed
 * archive, taken or brought up to date (docs/officers.md, "Your own copy of the archive"). A
 * thin shell over @custos/console's takeArchiveCopy; `custos verify copy DIR` checks it offline.
 */
import {
  takeArchiveCopy,
  type CopyProgress,
  type CopyResult,
  type DestructionFinding,
  type DisposalFinding,
} from '@custos/console';
import type { CliIo } from '../cli.js';
import { requireString } from '../command-flags.js';
import { runCommand } from '../command-runner.js';
import { ProgressLine } from '../progress-bar.js';
import { OFFICER_FLAGS, OFFICER_OPTIONS_HELP, withOfficerSession } from './console-officer.js';

const USAGE = `Usage: custos console archive-copy --out DIR --profile DIR [--passphrase-file FILE] [--json]

Takes the organisation's own copy of its sealed archive into DIR, or brings an earlier copy
in DIR up to date (only what is new is fetched). Ciphertext only: every sealed record, the
log's entries with the latest signed checkpoint, the org signing key, key-manager
delegations and bucket documents, and the bucket private keys wrapped to the officers and
to the root. Nothing is opened, so no quorum is needed; your passphrase opens only your
officer device. Everything is verified as it comes: the checkpoint against the log key
your profile pinned and against the copy's last one (consistency proof), every entry
against the checkpoint, every record against its log entry, every document against the
org key. The copy is written file by file and its state last: a run that fails leaves the
last good copy. Records of buckets a disposition destroyed leave the copy too, once its
certificate verifies; the copy records each destruction and each disposal with its proof,
and keeps them whatever the server later says. Check it offline with 'custos verify copy DIR'.
Exit 0: the copy holds every logged record (an UNVERIFIED disposition deleted nothing).
Exit 1: something did not verify (nothing of this run counts), or the run does not show
the copy complete (--json "complete": false): the server did not serve some logged records
(listed; the next run asks again), it no longer bears out a destruction or disposal the
copy recorded (WITHDRAWN; the copy keeps it), or it served again a record the copy holds
disposed of (SERVED; not copied back).

  --out DIR               the copy's folder: new, empty, or an earlier copy of this organisation
${OFFICER_OPTIONS_HELP}
See docs/officers.md, "Your own copy of the archive".
`;

const FLAGS = { ...OFFICER_FLAGS, out: 'string' } as const;

const PHASE_LABEL: Record<CopyProgress['phase'], string> = {
  log: 'log entries',
  keys: 'bucket keys',
  records: 'records copied',
  check: 'entries checked',
};

/** Bytes in the largest binary unit. */
function size(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

/** The run's result for a person. */
export function copyLines(r: CopyResult): string[] {
  const head =
    r.outcome === 'first'
      ? `Archive copy taken in ${r.out}: log of ${r.treeSize} entries verified.`
      : r.outcome === 'unchanged'
        ? `Archive copy in ${r.out} is up to date: the log is unchanged at ${r.treeSize} entries (root matches).`
        : `Archive copy in ${r.out} brought up to date: the log grew from ${r.previousTreeSize} to ${r.treeSize} entries (consistency proof verified).`;
  const lines = [
    head,
    `Archive copy holds ${r.records} record(s), ${size(r.recordBytes)}, and the keys of ${r.buckets} bucket(s); ${r.recordsAdded} record(s) added (${size(r.recordBytesAdded)}).`,
  ];
  if (r.bucketsDisposed.length > 0)
    lines.push(
      `Disposed since the last run: ${r.bucketsDisposed.join(', ')} — a verified certificate destroyed their keys; their wrapped keys were removed from the copy.`,
    );
  if (r.recordsDisposed > 0)
    lines.push(
      `${r.recordsDisposed} logged record(s) left out: verified dispositions (certificate, quorum, plan) account for them.`,
    );
  for (const f of r.destructionFindings) lines.push(withdrawnLine(f));
  for (const f of r.disposalFindings) lines.push(withdrawnDisposalLine(f));
  for (const s of r.servedAgain)
    lines.push(
      `SERVED    device ${s.device} record ${s.seq} (log index ${s.logIndex}): the copy holds it disposed of under a verified certificate, yet the server serves it again; it is not copied back. Report it.`,
    );
  if (r.servedAgainTotal > r.servedAgain.length)
    lines.push(`… and ${r.servedAgainTotal - r.servedAgain.length} more disposed record(s) served again.`);
  for (const c of r.wrapConflicts)
    lines.push(
      `CONFLICT  bucket ${c.bucketId}, wrap for ${c.recipient}: two sources gave different blobs; both are kept (otherWraps). Report it.`,
    );
  for (const p of r.dispositionProblems)
    lines.push(`UNVERIFIED ${p}: the copy deleted nothing on its word. Report it to the other officers.`);
  for (const p of r.dispositionProblemsActedOn)
    lines.push(
      `UNVERIFIED ${p}: an earlier run verified this disposition and the copy acted on it (recorded in custos-copy.json, kept); it deletes nothing more on its word. Report it to the other officers.`,
    );
  for (const m of r.missing)
    lines.push(
      `MISSING   device ${m.device} record ${m.seq} (log index ${m.logIndex}): ${m.reason ?? 'the server did not serve it'}`,
    );
  if (r.missingTotal > r.missing.length)
    lines.push(`… and ${r.missingTotal - r.missing.length} more missing.`);
  if (r.missingTotal > 0)
    lines.push(
      `INCOMPLETE: ${r.missingTotal} logged record(s) the server did not serve; the next run asks again. Report it: the log says they were stored.`,
    );
  const contradicted = contradictions(r);
  if (contradicted.length > 0)
    lines.push(
      `INCOMPLETE: the server contradicts what the copy recorded (${contradicted.join(', ')}): ` +
        'the copy keeps what it recorded, but this run cannot show it holds every record it should. Report it.',
    );
  lines.push(`Check it offline with: custos verify copy ${r.out} --log-key '${r.log.verifierKey}'`);
  return lines;
}

/** A recorded destruction the server no longer bears out, for a person. */
function withdrawnLine(f: DestructionFinding): string {
  const d = f.recorded;
  const proof =
    d === null
      ? 'an earlier run of an older custos recorded its destruction'
      : `the copy recorded its destruction on ${d.recordedAt} (certificate ${d.certificateHash}, ` +
        `plan ${d.planId}, log index ${d.logIndex}, executed ${new Date(d.executedAt).toISOString()})`;
  return (
    `WITHDRAWN bucket ${f.bucketId}: ${proof}; now ${f.server}. The copy keeps it destroyed and ` +
    'changed nothing of it. Report it: the server no longer bears out a verified destruction.'
  );
}

/** A recorded disposal the server no longer bears out, for a person. */
function withdrawnDisposalLine(f: DisposalFinding): string {
  const d = f.recorded;
  const what =
    d === null
      ? `${f.records} record(s) an earlier run of an older custos disposed of, recording no certificate`
      : `certificate ${d.certificateHash}: the copy recorded on ${d.recordedAt} that it disposed of ` +
        `${d.records} record(s) (plan ${d.planId}, log index ${d.logIndex}, leaf digest ${d.leavesDigest})`;
  return (
    `WITHDRAWN ${what}; now ${f.server}. The copy keeps them disposed of and changed nothing of ` +
    'them. Report it: the server no longer bears out a verified disposal.'
  );
}

/**
 * What of the copy's record the server's answers contradict, in words (empty when nothing): the
 * WITHDRAWN destructions and disposals, and the disposed records SERVED again.
 */
function contradictions(r: CopyResult): string[] {
  const out: string[] = [];
  if (r.destructionFindings.length > 0) out.push(`${r.destructionFindings.length} destruction(s) withdrawn`);
  if (r.disposalFindings.length > 0) out.push(`${r.disposalFindings.length} disposal(s) withdrawn`);
  if (r.servedAgainTotal > 0) out.push(`${r.servedAgainTotal} disposed record(s) served again`);
  return out;
}

/**
 * Whether the run shows the copy complete: every logged record held, or left out under a
 * disposition the server still bears out. Not when records are missing, a recorded destruction
 * or disposal is withdrawn (the copy lacks records no verified disposition accounts for now), or
 * a disposed record is served again (the server contradicts a certificate it served). An
 * UNVERIFIED disposition alone leaves it complete: the copy deleted nothing on its word, and any
 * of its records the copy never had is missing.
 */
export function copyComplete(r: CopyResult): boolean {
  return r.missingTotal === 0 && contradictions(r).length === 0;
}

/** The exit code of a run that completed: 0 when it shows the copy complete (copyComplete), 1 otherwise. */
export function copyExitCode(r: CopyResult): number {
  return copyComplete(r) ? 0 : 1;
}

/** The run's result as `--json` gives it: the result, and whether it shows the copy complete. */
export function copyJson(r: CopyResult): CopyResult & { readonly complete: boolean } {
  return { ...r, complete: copyComplete(r) };
}

/** Runs `custos console archive-copy`. */
export function runConsoleArchiveCopy(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'console archive-copy', usage: USAGE, flags: FLAGS, maxPositionals: 0 },
    args,
    io,
    async (ctx) => {
      const out = requireString(ctx.flags, 'out');
      const bar = new ProgressLine(ctx.io.stderr);
      let r: CopyResult;
      try {
        r = await withOfficerSession(ctx, (s) =>
          takeArchiveCopy(s, out, {
            onProgress: (p) => bar.update(PHASE_LABEL[p.phase], p.done, p.total),
          }),
        );
      } finally {
        bar.done();
      }
      ctx.result(copyLines(r), copyJson(r));
      return copyExitCode(r);
    },
  );
}
