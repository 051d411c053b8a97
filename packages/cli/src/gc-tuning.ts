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
 * run) is enough. An operator who names the flag on node's command line or in NODE_OPTIONS
 * keeps their choice.
 *
 * The young generation's size is read only when V8 sets up the heap, so `custos server` takes
 * it on node's command line: SERVER_NODE_FLAGS, in the `custos` command's `#!` line (bin.ts)
 * and the README's `npm start` script, and a server started without it says so.
 */
import { setFlagsFromString } from 'node:v8';

/** The V8 flag Custos sets, and the names that mean the operator chose for themselves. */
export const GC_TUNING_FLAG = '--no-concurrent-array-buffer-sweeping';
const OPERATOR_FLAGS = [
  '--concurrent-array-buffer-sweeping',
  '--no-concurrent-array-buffer-sweeping',
  '--single-threaded-gc',
];

/**
 * The flag names among `execArgv` and the words of `nodeOptions` (NODE_OPTIONS), as V8 reads
 * them: `_` and `-` alike, without a `=value`.
 */
function namedFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  return [...execArgv, ...(nodeOptions ?? '').split(/\s+/)]
    .filter((w) => w.startsWith('--'))
    .map((w) => `--${w.slice(2).split('=')[0]!.replace(/_/g, '-')}`);
}

/**
 * The flags {@link applyGcTuning} would set for a process started with `execArgv` and
 * NODE_OPTIONS `nodeOptions`.
 */
export function gcTuningFor(execArgv: readonly string[], nodeOptions?: string): readonly string[] {
  const named = namedFlags(execArgv, nodeOptions).some((name) => OPERATOR_FLAGS.includes(name));
  return named ? [] : [GC_TUNING_FLAG];
}

/**
 * Sets {@link GC_TUNING_FLAG} for this process unless its command line or NODE_OPTIONS names it;
 * returns the flags it set. Call it first thing in a process's entry point.
 */
export function applyGcTuning(
  execArgv: readonly string[] = process.execArgv,
  setFlags: (flags: string) => void = setFlagsFromString,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): readonly string[] {
  const flags = gcTuningFor(execArgv, nodeOptions);
  for (const flag of flags) setFlags(flag);
  return flags;
}

/**
 * Node flags `custos server` runs with (docs/operations.md, "The server's node flags"). A
 * young generation of up to 64 MiB per semi-space, against V8's 16: at 5,000 relayed
 * messages a second the default one filled every ~150 ms, about as long as a message's
 * objects live while its commit becomes durable, so they were copied and promoted, and the
 * scavenges and old-generation collections stalled deliveries (docs/performance.md,
 * "Relay, session 20": p99 medians 13.6–22.1 ms against 16.0–60.4 ms in same-run A/Bs).
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/**
 * The SERVER_NODE_FLAGS missing from a process started with `execArgv` and NODE_OPTIONS
 * `nodeOptions`: a flag counts as given when its name is, whatever its value (the operator's).
 */
export function missingServerFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = namedFlags(execArgv, nodeOptions);
  return SERVER_NODE_FLAGS.filter((f) => !given.includes(f.split('=')[0]!));
}
