import { describe, expect, it } from 'vitest';
import {
  applyGcTuning,
  GC_TUNING_FLAG,
  gcTuningFor,
  missingServerFlags,
  SERVER_NODE_FLAGS,
} from './gc-tuning.js';

describe('applyGcTuning', () => {
  it('turns concurrent ArrayBuffer sweeping off for a process started without GC flags', () => {
    const set: string[] = [];
    expect(applyGcTuning([], (f) => set.push(f), '')).toEqual([GC_TUNING_FLAG]);
    expect(set).toEqual(['--no-concurrent-array-buffer-sweeping']);
    // Unrelated node flags change nothing.
    expect(gcTuningFor(['--enable-source-maps', '--max-semi-space-size=64'])).toEqual([GC_TUNING_FLAG]);
  });

  it.each([
    ['--concurrent-array-buffer-sweeping'],
    ['--no-concurrent-array-buffer-sweeping'],
    ['--no_concurrent_array_buffer_sweeping'],
    ['--single-threaded-gc'],
  ])('leaves the choice to an operator who named %s on the command line', (flag) => {
    const set: string[] = [];
    expect(applyGcTuning(['--enable-source-maps', flag], (f) => set.push(f), '')).toEqual([]);
    // Named in NODE_OPTIONS (not in execArgv), the choice is the operator's too.
    expect(applyGcTuning([], (f) => set.push(f), `--max-old-space-size=512 ${flag}`)).toEqual([]);
    expect(set).toEqual([]);
  });

  it('is a flag this node accepts at run time (an unknown flag would throw or be ignored silently)', async () => {
    // node:v8 rejects nothing, so check the name against V8's own list of options.
    const { execFileSync } = await import('node:child_process');
    const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    expect(options).toContain('--concurrent-array-buffer-sweeping ');
  });
});

describe('SERVER_NODE_FLAGS', () => {
  it('are in the `custos` command’s #! line and the README’s `npm start`, exactly', async () => {
    const { readFileSync } = await import('node:fs');
    const bin = readFileSync(new URL('./bin.ts', import.meta.url), 'utf8').split('\n')[0];
    expect(bin).toBe(`#!/usr/bin/env -S node ${SERVER_NODE_FLAGS.join(' ')}`);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      scripts: { start: string };
    };
    expect(pkg.scripts.start).toBe(
      `npm run build && node ${SERVER_NODE_FLAGS.join(' ')} packages/cli/dist/main.js server`,
    );
  });

  it('are missing unless named on the command line or in NODE_OPTIONS (with any value)', () => {
    expect(missingServerFlags([], undefined)).toEqual([...SERVER_NODE_FLAGS]);
    expect(missingServerFlags(['--enable-source-maps'], '--max-old-space-size=512')).toEqual([
      ...SERVER_NODE_FLAGS,
    ]);
    expect(missingServerFlags([...SERVER_NODE_FLAGS], undefined)).toEqual([]);
    expect(missingServerFlags([], ' --max_semi_space_size=32 ')).toEqual([]);
  });

  it('let the young generation grow past V8’s default (a flag node ignored would not)', async () => {
    const { execFileSync } = await import('node:child_process');
    // Allocates objects that live a while, then reports the new space's size in MiB.
    const script = `
      const keep = []; let x = [];
      for (let i = 0; i < 3e6; i++) { x.push({ a: i }); if (x.length > 20000) { keep.push(x); if (keep.length > 20) keep.shift(); x = []; } }
      const s = require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      process.stdout.write(String(s.space_size / 1048576));`;
    const size = (flags: readonly string[]) =>
      Number(execFileSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8' }));
    expect(size([])).toBeLessThanOrEqual(32);
    expect(size(SERVER_NODE_FLAGS)).toBeGreaterThan(32);
  });
});
