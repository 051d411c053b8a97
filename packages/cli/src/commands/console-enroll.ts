/** `custos console enroll CODE --profile DIR`: enrols an officer device into an officer profile (docs/officers.md §2). */
import { enrolOfficerDevice } from '@custos/console';
import type { CliIo } from '../cli.js';
import { UsageError } from '../command-flags.js';
import { runCommand } from '../command-runner.js';
import { officerProfileDir } from './console-officer.js';

const USAGE = `Usage: custos console enroll CODE --profile DIR [--json]

Enrols a device for your officer profile, so the console can call the officer routes
(bucket keys, index keys, the key-manager delegation). CODE is a one-time enrolment code
(ce1.…) an administrator issued for a user with the role officer
('custos admin invite --user NAME --role officer'). The device's key is kept in
DIR/officer-device.json, sealed to your officer key: it is useless without your passphrase,
and enrolling does not ask for it.

  CODE                    the enrolment code
  --profile DIR           your officer profile folder (officers/officer-k from 'custos org create')
  --json                  print the result as JSON on stdout

See docs/officers.md.
`;

const FLAGS = { profile: 'string', json: 'boolean', help: 'boolean' } as const;

/** Runs `custos console enroll`. */
export function runConsoleEnroll(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'console enroll', usage: USAGE, flags: FLAGS, maxPositionals: 1 },
    args,
    io,
    async (ctx) => {
      const code = ctx.positionals[0];
      if (code === undefined) throw new UsageError('the enrolment code is required');
      const dir = officerProfileDir(ctx);
      const r = await enrolOfficerDevice(dir, code);
      ctx.result(
        [
          `Officer ${r.officerIndex + 1}'s device enrolled: device ${r.deviceId} of officer user ${r.userId}.`,
          `Its key is in ${r.file}, sealed to your officer key.`,
        ],
        r,
      );
    },
  );
}
