/** `custos console grant-index-keys`: seals missing blind-index keys to the org's devices (docs/officers.md §4). */
import { sealIndexKeyForDevice } from '@custos/client';
import { extendStandingCriteria, grantIndexKeys } from '@custos/console';
import type { CliIo } from '../cli.js';
import { runCommand } from '../command-runner.js';
import { OFFICER_FLAGS, OFFICER_OPTIONS_HELP, withOfficerSession } from './console-officer.js';
import { criteriaLines, needsReseal } from './org-buckets.js';

const USAGE = `Usage: custos console grant-index-keys --profile DIR [--passphrase-file FILE] [--json]

For every current or future bucket, finds the organisation's active devices whose user has
the bucket's retention class and no index key for it yet, seals the bucket's blind-index key
to each device's identity key, and uploads it. A device's identity key is first checked
against the key its enrolment committed to in the organisation's log: a device whose served
key differs (or cannot be checked) gets nothing, is named, and the command exits 1. Devices
without their index key archive records that search cannot find, so run this after enrolling
people, and daily (it is idempotent: a rerun seals nothing new). First it extends every
lexicon rule and query or conversation hold to the current and future buckets it does not
cover yet (from their criteria sealed to the officers), so records sealed to a new bucket
are reviewed and held like the others. Progress goes to stderr.

${OFFICER_OPTIONS_HELP}
See docs/officers.md.
`;

/** Runs `custos console grant-index-keys`. */
export function runConsoleGrantIndexKeys(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'console grant-index-keys', usage: USAGE, flags: OFFICER_FLAGS, maxPositionals: 0 },
    args,
    io,
    async (ctx) => {
      const note = (m: string) => ctx.note(`custos console grant-index-keys: ${m}`);
      const { criteria, ...r } = await withOfficerSession(ctx, async (s) => {
        const now = Date.now();
        // Before any device gets a new bucket's index key: no tokened record escapes a rule or hold.
        const criteria = await extendStandingCriteria(s, { now, progress: note });
        return { criteria, ...(await grantIndexKeys(s, sealIndexKeyForDevice, now, note)) };
      });
      const lines = [
        ...criteriaLines(criteria),
        `Sealed ${r.granted.length} index key(s) over ${r.buckets.length} current or future bucket(s); ${r.alreadySealed} device(s) already had theirs.`,
      ];
      if (r.noWrap.length > 0)
        lines.push(
          `You hold no wrap of ${r.noWrap.join(', ')}: another officer must run this for those buckets.`,
        );
      for (const x of r.refused)
        lines.push(
          x.status === 'mismatch'
            ? `REFUSED device ${x.deviceId} (bucket ${x.bucketId}): the server serves another identity key than the one its enrolment committed to in the log. Do not trust the server; tell the other officers.`
            : `REFUSED device ${x.deviceId} (bucket ${x.bucketId}): ${x.status === 'legacy' ? 'it enrolled before the log committed to identity keys; re-enrol it' : 'its enrolment is not in the log; run this again later, and if it persists treat it as an incident'}.`,
        );
      ctx.result(lines, { ...r, criteria });
      return r.noWrap.length > 0 || r.refused.length > 0 || needsReseal(criteria) ? 1 : 0;
    },
  );
}
