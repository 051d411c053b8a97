/**
 * The records officer for the security tests' CLI scenarios: officer 1 of the ceremony
 * (`cliOrg`) enrols its officer device, seals index keys to the devices enrolled so far,
 * and those devices fetch them, so their archive copies become searchable.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustosClient } from '@custos/client';
import { custosJson, OFFICER_PASSPHRASE, type CliOrg } from '../cli-support.js';

/** The officer's profile folder and the flags that open it. */
export interface Officer {
  readonly profile: string;
  readonly passphraseFile: string;
  /** `--profile … --passphrase-file …` for `custos console …`. */
  readonly args: readonly string[];
}

/** Enrols officer 1's device (run in `dir`, the folder `cliOrg` was given) and grants index keys to `devices`. */
export async function enrolOfficer(org: CliOrg, dir: string, devices: readonly string[]): Promise<Officer> {
  const passphraseFile = join(dir, 'officer.pass');
  writeFileSync(passphraseFile, `${OFFICER_PASSPHRASE}\n`, { mode: 0o600 });
  const profile = join(dir, 'org', 'officers', 'officer-1');
  const args = ['--profile', profile, '--passphrase-file', passphraseFile];
  const inv = await custosJson<{ enrolmentCode: string }>([
    'admin',
    'invite',
    '--user',
    'officer-one',
    '--role',
    'officer',
    '--profile',
    org.adminProfile,
  ]);
  await custosJson(['console', 'enroll', inv.enrolmentCode, '--profile', profile]);
  await custosJson(['console', 'grant-index-keys', ...args]);
  // Devices read index keys at enrolment and when a bucket is missing; these were enrolled
  // before the grant, so they fetch them now (the CLI has no command for it).
  for (const p of devices) {
    const c = CustosClient.open(p);
    try {
      await c.refreshKeys();
    } finally {
      await c.close();
    }
  }
  return { profile, passphraseFile, args };
}
