import { createServer, type AddressInfo } from 'node:net';
import { SETTINGS } from '@custos/server';
import { describe, expect, it } from 'vitest';
import { cli, testFolder } from './testing/run-cli.js';

describe('custos server', () => {
  it('--help lists every setting with its environment variable', async () => {
    const r = await cli(['server', '--help']);
    expect(r.code).toBe(0);
    for (const s of SETTINGS) {
      expect(r.out).toContain(`--${s.flag}`);
      expect(r.out).toContain(s.env);
    }
  });

  it('stops with status 1 and names the setting when the configuration is bad', async () => {
    const r = await cli(['server', '--listen', '0.0.0.0:8443']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^custos server: configuration: listen: /);
  });

  it('only parses the command line when asked to check it (docs-commands): nothing starts', async () => {
    const ok = await cli(
      ['server', '--data', '/nonexistent/custos', '--listen', '127.0.0.1:1', '--config', 'x.json'],
      {
        checkOnly: true,
      },
    );
    expect([ok.code, ok.err, ok.out]).toEqual([0, '', '']);
    const bad = await cli(['server', '--listen', '0.0.0.0:8443'], { checkOnly: true });
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/listen: .*needs TLS/);
    expect(
      (await cli(['server', 'bootstrap-token', '--data', '/nonexistent'], { checkOnly: true })).code,
    ).toBe(0);
  });

  it('exits 2 for an unknown or valueless flag, as every command does', async () => {
    const y = await cli(['server', '--no-such-flag']);
    expect(y.code).toBe(2);
    expect(y.err).toMatch(/no-such-flag.*Run 'custos server --help'/);
    expect((await cli(['server', '--listen'])).code).toBe(2);
    // Node's own message ends with a full stop: one, not two, before the hint.
    const dash = await cli(['server', '--blob-quota', '-1']);
    expect(dash.code).toBe(2);
    expect(dash.err).not.toMatch(/\.\./);
    expect(dash.err).toMatch(/--blob-quota=-XYZ'\. Run 'custos server --help'\.\n$/);
    expect((await cli(['server', 'bootstrap-token', '--no-such-flag'])).code).toBe(2);
  });

  it("says the address is in use and how to choose another (before: only node's listen message)", async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    try {
      const { port } = holder.address() as AddressInfo;
      const r = await cli(['server', '--data', testFolder('custos-inuse-'), '--listen', `127.0.0.1:${port}`]);
      expect(r.code).toBe(1);
      expect(r.err).toBe(
        `custos server: cannot start: 127.0.0.1:${port} is in use (EADDRINUSE): another process (another custos server?) listens there. Stop it, or choose another address with --listen HOST:PORT (port 0 picks a free one)\n`,
      );
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });
});
