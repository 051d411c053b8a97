/**
 * `custos verify copy DIR`: an archive copy made by `custos console archive-copy`, checked
 * offline with no server and no account (docs/officers.md, "Your own copy of the archive").
 * A thin shell over @custos/console's verifyArchiveCopy.
 */
import { verifyArchiveCopy, type CopyVerification } from '@custos/console';
import { isCustosError, parseVerifierKey } from '@custos/core';
import type { CliIo } from '../cli.js';
import { optionalString, UsageError } from '../command-flags.js';
import { runCommand } from '../command-runner.js';
import { ProgressLine } from '../progress-bar.js';

/** Usage of `custos verify copy`. */
export const VERIFY_COPY_USAGE = `Usage: custos verify copy DIR [--log-key VKEY] [--json]

Checks an archive copy made by 'custos console archive-copy', without any network access:
the checkpoint's signature against the log key (given with --log-key, obtained out of band
from the organisation; otherwise the key the copy names, and the output says so), every
entry bundle against its leaf hashes, the Merkle tree recomputed from every entry against
the checkpoint's root, every record file against the log entry that commits to it, the
device pages (what opening a record needs) against the log, the org signing key,
key-manager delegations and bucket documents against each other, each destroyed bucket
the copy recorded against its certificate, plan and log entry (no wrap of it left), and each
disposal of records it recorded against its certificate, plan and log entry. Names the first file
that fails. Exit 0: intact and complete. Exit 1: something does not verify, or logged
records are missing (counted; the copy recorded that the server did not serve them).

  DIR              the copy's folder
  --log-key VKEY   the organisation's log verifier key
  --json           machine-readable result on stdout
`;

const FLAGS = { 'log-key': 'string', json: 'boolean', help: 'boolean' } as const;

/** The verification for a person. */
export function verifyCopyLines(dir: string, v: CopyVerification): string[] {
  return [
    `${v.complete ? 'Archive copy verified' : 'Archive copy INCOMPLETE'}: ${dir}, organisation ${v.orgId}, taken ${v.updatedAt}.`,
    `Log ${v.log.origin}: ${v.treeSize} entries recomputed to the checkpoint's root ${v.rootHash}; signature verified with ${v.logKeyGiven ? 'the log key given' : "the copy's own log key (give --log-key to pin the organisation's)"}.`,
    `${v.records} of ${v.recordsLogged} logged record(s) present, each hashing to its log entry, from ${v.devices} device(s)` +
      `${v.recordsDisposed > 0 ? `; ${v.recordsDisposed} disposed (a verified disposition certificate the copy keeps accounts for them${v.disposals > 0 ? `; ${v.disposals} certificate(s) as the copy recorded them: their disposition entry, plan and count` : ''})` : ''}` +
      `${v.recordsMissing > 0 ? `; ${v.recordsMissing} MISSING: the server did not serve them when the copy was taken` : ''}.`,
    `Keys: org signing key ${v.signingKeyFingerprint}; ${v.buckets} bucket document(s) verified, ${v.bucketsWithWraps} with wrapped private keys` +
      `${v.bucketsDestroyed > 0 ? `; ${v.bucketsDestroyed} destroyed (each as the copy recorded it: a certificate it keeps, its plan, the bucket's disposition entry, no wrap left)` : ''}.`,
  ];
}

/** Runs `custos verify copy`. */
export function runVerifyCopy(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'verify copy', usage: VERIFY_COPY_USAGE, flags: FLAGS, maxPositionals: 1 },
    args,
    io,
    (ctx) => {
      const dir = ctx.positionals[0];
      if (dir === undefined) throw new UsageError('give the copy folder: custos verify copy DIR');
      const logKey = optionalString(ctx.flags, 'log-key')?.trim();
      if (logKey !== undefined) {
        try {
          parseVerifierKey(logKey);
        } catch (e) {
          if (!isCustosError(e)) throw e;
          throw new UsageError(`--log-key is not a log verifier key: ${e.message}`);
        }
      }
      const bar = new ProgressLine(ctx.io.stderr);
      let v: CopyVerification;
      try {
        v = verifyArchiveCopy(dir, {
          ...(logKey === undefined ? {} : { logKey }),
          onProgress: (phase, done, total) =>
            bar.update(phase === 'log' ? 'log entries' : 'records', done, total),
        });
      } finally {
        bar.done();
      }
      ctx.result(verifyCopyLines(dir, v), { ok: v.complete, ...v });
      return Promise.resolve(v.complete ? 0 : 1);
    },
  );
}
