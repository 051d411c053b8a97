import { describe, expect, it } from 'vitest';
import { applyGcTuning, GC_TUNING_FLAG, gcTuningFor } from './gc-tuning.js';

describe('applyGcTuning', () => {
  it('turns concurrent ArrayBuffer sweeping off for a process started without GC flags', () => {
    const set: string[] = [];
    expect(applyGcTuning([], (f) => set.push(f))).toEqual([GC_TUNING_FLAG]);
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
    expect(applyGcTuning(['--enable-source-maps', flag], (f) => set.push(f))).toEqual([]);
    expect(set).toEqual([]);
  });

  it('is a flag this node accepts at run time (an unknown flag would throw or be ignored silently)', async () => {
    // node:v8 rejects nothing, so check the name against V8's own list of options.
    const { execFileSync } = await import('node:child_process');
    const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    expect(options).toContain('--concurrent-array-buffer-sweeping ');
  });
});
