/**
 * Node flags that open a process's memory to someone else: an inspector (a debugger port
 * that runs any code in the process), or a heap dump, report or core on a signal or
 * condition (a file holding whatever the heap held: tokens, keys). `custos server` refuses
 * to start under an inspector flag; `custos doctor` fails on any of them.
 */

/** Whether a flag attaches a debugger (refused by `custos server`) or writes memory to a file. */
export type DebugFlagKind = 'inspector' | 'dump';

/** A risky flag found in the process's arguments or NODE_OPTIONS. */
export interface DebugFlag {
  readonly flag: string;
  readonly kind: DebugFlagKind;
  readonly source: 'execArgv' | 'NODE_OPTIONS';
}

const INSPECTOR = /^--(inspect|inspect-brk|inspect-wait|inspect-port|debug|debug-brk|debug-port)(=|$)/;
const DUMP =
  /^--(heapsnapshot-signal|heapsnapshot-near-heap-limit|heap-prof|cpu-prof|report-on-signal|report-on-fatalerror|report-uncaught-exception|abort-on-uncaught-exception)(=|$)/;

/** The risky flags among `execArgv` and the words of `nodeOptions` (the flag names only, never values). */
export function debugFlagsIn(execArgv: readonly string[], nodeOptions: string | undefined): DebugFlag[] {
  const words: [string, DebugFlag['source']][] = [
    ...execArgv.map((a): [string, DebugFlag['source']] => [a, 'execArgv']),
    ...(nodeOptions ?? '')
      .split(/\s+/)
      .filter((w) => w !== '')
      .map((w): [string, DebugFlag['source']] => [w, 'NODE_OPTIONS']),
  ];
  const out: DebugFlag[] = [];
  for (const [word, source] of words) {
    const name = word.split('=')[0]!;
    if (INSPECTOR.test(word)) out.push({ flag: name, kind: 'inspector', source });
    else if (DUMP.test(word)) out.push({ flag: name, kind: 'dump', source });
  }
  return out;
}

/** The risky flags of this process. */
export function processDebugFlags(): DebugFlag[] {
  return debugFlagsIn(process.execArgv, process.env.NODE_OPTIONS);
}
