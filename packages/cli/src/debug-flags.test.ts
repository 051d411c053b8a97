/** Which node flags `custos server` refuses and `custos doctor` reports. */
import { describe, expect, it } from 'vitest';
import { debugFlagsIn } from './debug-flags.js';

describe('debugFlagsIn', () => {
  it('finds inspector flags in node arguments and NODE_OPTIONS, naming the flag only', () => {
    expect(debugFlagsIn(['--inspect=0.0.0.0:9229'], undefined)).toEqual([
      { flag: '--inspect', kind: 'inspector', source: 'execArgv' },
    ]);
    expect(debugFlagsIn([], '--max-old-space-size=4096  --inspect-brk --debug-port=1')).toEqual([
      { flag: '--inspect-brk', kind: 'inspector', source: 'NODE_OPTIONS' },
      { flag: '--debug-port', kind: 'inspector', source: 'NODE_OPTIONS' },
    ]);
  });

  it('finds heap-dump, profiler and report flags as dumps', () => {
    const found = debugFlagsIn(
      ['--heapsnapshot-signal=SIGUSR2', '--heap-prof'],
      '--report-on-signal --heapsnapshot-near-heap-limit=3 --cpu-prof',
    );
    expect(found.map((f) => `${f.flag}:${f.kind}`)).toEqual([
      '--heapsnapshot-signal:dump',
      '--heap-prof:dump',
      '--report-on-signal:dump',
      '--heapsnapshot-near-heap-limit:dump',
      '--cpu-prof:dump',
    ]);
  });

  it('leaves ordinary flags alone', () => {
    expect(
      debugFlagsIn(
        ['--enable-source-maps', '--max-old-space-size=512'],
        '--no-warnings --inspect-publish-uid=http',
      ),
    ).toEqual([]);
    expect(debugFlagsIn([], '')).toEqual([]);
  });
});
