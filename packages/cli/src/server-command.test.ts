import { Writable } from 'node:stream';
import { SETTINGS } from '@custos/server';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

function io(): { out: () => string; err: () => string; streams: { stdout: Writable; stderr: Writable } } {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        add(chunk.toString());
        cb();
      },
    });
  return {
    out: () => out,
    err: () => err,
    streams: { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) },
  };
}

describe('custos server', () => {
  it('--help lists every setting with its environment variable', async () => {
    const x = io();
    expect(await runCli(['server', '--help'], x.streams)).toBe(0);
    for (const s of SETTINGS) {
      expect(x.out()).toContain(`--${s.flag}`);
      expect(x.out()).toContain(s.env);
    }
  });

  it('stops with status 1 and names the setting when the configuration is bad', async () => {
    const x = io();
    expect(await runCli(['server', '--listen', '0.0.0.0:8443'], x.streams)).toBe(1);
    expect(x.err()).toMatch(/^custos server: configuration: listen: /);
    const y = io();
    expect(await runCli(['server', '--no-such-flag'], y.streams)).toBe(1);
    expect(y.err()).toContain('no-such-flag');
  });
});
