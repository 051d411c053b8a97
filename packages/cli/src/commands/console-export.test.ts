/** `custos console export` command lines: a name where an officer command needs an id is refused with exit 2 before any passphrase is asked for. */
import { deviceId } from '@custos/core';
import { exportTesting } from '@custos/console';
import { describe, expect, it } from 'vitest';
import { cli, testFolder } from '../testing/run-cli.js';
import { custodianOf } from './console-export.js';

describe('console export command line', () => {
  const dir = testFolder('custos-export-args-');

  it('refuses a --device that is not a device id, and a --participant that is not an address', async () => {
    // Both used to reach the server: --device came back as its query pattern, and the
    // officer never learnt where device ids are listed.
    const base = [
      'console',
      'export',
      '--format',
      'json',
      '--out',
      `${dir}/out`,
      '--profile',
      '/nonexistent',
    ];
    const device = await cli([...base, '--device', 'alice']);
    expect(device.code).toBe(2);
    expect(device.err).toContain(
      "--device alice: not a device id; 'custos admin devices --user ADDRESS' on an administrator's device",
    );
    const participant = await cli([...base, '--participant', 'bob']);
    expect(participant.code).toBe(2);
    expect(participant.err).toContain(
      '--participant bob: not an address; officer profiles keep no address book',
    );
  });
});

describe('console export custodian', () => {
  const { body, buildTestArchive, ALICE, BOB, ORG } = exportTesting;

  it('names the user who owns the exported devices, even a laptop that only received', async () => {
    // alice's phone sends; her laptop (linked, the same user) only receives; bob's phone sends.
    const a = await buildTestArchive([
      { device: 'alice-phone', body: body({ messageId: 'm1' }) },
      { device: 'alice-laptop', body: body({ messageId: 'm2', direction: 'received', sender: BOB }) },
      { device: 'bob-phone', body: body({ messageId: 'm3', sender: BOB }) },
    ]);
    const fetched = { enrolments: a.input.enrolments ?? [], log: a.input.log };
    const byDevices = (...devices: string[]) =>
      custodianOf(undefined, { devices: devices.map((d) => deviceId(d)) }, fetched, ORG);
    // It used to be the organisation: the laptop's records had no sender of their own.
    expect(byDevices('alice-laptop')).toBe(ALICE);
    expect(byDevices('alice-phone', 'alice-laptop')).toBe(ALICE);
    // Devices of two users have no single custodian; --custodian still wins.
    expect(byDevices('alice-laptop', 'bob-phone')).toBe(`${ORG} (organisation)`);
    expect(custodianOf('acme.bob', { devices: [deviceId('alice-laptop')] }, fetched, ORG)).toBe(BOB);
  });

  it('takes the user from proven enrolments only: evidence under another log key is refused', async () => {
    const a = await buildTestArchive([
      { device: 'alice-laptop', body: body({ messageId: 'm1', direction: 'received', sender: BOB }) },
    ]);
    const forged = {
      enrolments: a.input.enrolments ?? [],
      log: { ...a.input.log, verifierKey: a.otherVerifierKey },
    };
    expect(() => custodianOf(undefined, { devices: [deviceId('alice-laptop')] }, forged, ORG)).toThrow(
      /does not verify with the log key/,
    );
  });
});
