/** `custos console export` command lines: a name where an officer command needs an id is refused with exit 2 before any passphrase is asked for. */
import { describe, expect, it } from 'vitest';
import { cli, testFolder } from '../testing/run-cli.js';

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
