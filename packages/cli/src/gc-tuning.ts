/**
 * V8 garbage-collector settings every Custos process applies at start (docs/performance.md,
 * "Concurrent ArrayBuffer sweeping").
 *
 * Sealing, opening, relaying and ingesting all make short-lived Buffers: node:crypto hands
 * back a fresh Buffer from every cipher update, tag and digest. After each young-generation
 * collection V8 frees the dead Buffers' backing stores on a background thread ("concurrent
 * ArrayBuffer sweeping") and the main thread waits for that job before the next collection.
 * On a small virtual machine (2 vCPUs here) each hand-off costs more than the freeing it
 * moves: in `npm run bench` a bare AES-256-GCM loop ran 2–2.6× faster with the sweeping done
 * on the main thread, and the record seal and open with it.
 *
 * The flag is read at every collection, so setting it once at start (before the hot paths
 * run) is enough. An operator who names the flag on node's command line keeps their choice.
 */
import { setFlagsFromString } from 'node:v8';

/** The V8 flag Custos sets, and the names that mean the operator chose for themselves. */
export const GC_TUNING_FLAG = '--no-concurrent-array-buffer-sweeping';
const OPERATOR_FLAGS = [
  '--concurrent-array-buffer-sweeping',
  '--no-concurrent-array-buffer-sweeping',
  '--single-threaded-gc',
];

/** The flags {@link applyGcTuning} would set for a process started with `execArgv`. */
export function gcTuningFor(execArgv: readonly string[]): readonly string[] {
  // V8 reads `_` and `-` in a flag's name alike, and a boolean flag may carry `=value`.
  const names = execArgv.map((arg) =>
    arg.startsWith('--') ? `--${arg.slice(2).split('=')[0]!.replace(/_/g, '-')}` : arg,
  );
  const named = names.some((name) => OPERATOR_FLAGS.includes(name));
  return named ? [] : [GC_TUNING_FLAG];
}

/**
 * Sets {@link GC_TUNING_FLAG} for this process unless its command line names the flag;
 * returns the flags it set. Call it first thing in a process's entry point.
 */
export function applyGcTuning(
  execArgv: readonly string[] = process.execArgv,
  setFlags: (flags: string) => void = setFlagsFromString,
): readonly string[] {
  const flags = gcTuningFor(execArgv);
  for (const flag of flags) setFlags(flag);
  return flags;
}
