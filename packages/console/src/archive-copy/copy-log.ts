/**
 * The log inside an archive copy: its entry bundles read back one at a time (never the
 * whole log in memory), and single entries by index through a small cache, for checking a
 * record against the entry that commits to it.
 */
import { decodeEntryBundle, decodeLogEntry, TILE_WIDTH, type LogEntry } from '@custos/core';
import { ConsoleError } from '../console-error.js';
import { bundleFile, readCopyFile, relative } from './copy-files.js';

/** Bundles kept decoded by {@link EntryLookup} (a device's records are mostly in log order). */
const CACHED_BUNDLES = 8;

/** One bundle of the copy's log: raw entries, in order, starting at leaf `index · 256`. */
export interface CopyBundle {
  readonly index: number;
  readonly file: string;
  readonly raw: readonly Uint8Array[];
}

/** Reads bundle `index` of a tree of `treeSize` from the copy; COPY_INVALID naming the file. */
export function readCopyBundle(dir: string, index: number, treeSize: number): CopyBundle {
  const file = bundleFile(dir, index, treeSize);
  const width = Math.min(TILE_WIDTH, treeSize - index * TILE_WIDTH);
  const bytes = readCopyFile(dir, file, `entry bundle ${index} of the log`);
  try {
    return { index, file, raw: decodeEntryBundle(new Uint8Array(bytes), width) };
  } catch (e) {
    throw new ConsoleError(
      'COPY_INVALID',
      `${relative(dir, file)}: not an entry bundle of ${width} entries`,
      {
        cause: e,
      },
    );
  }
}

/** Decodes entry `index` of a bundle; COPY_INVALID naming the file when it is malformed. */
export function decodeCopyEntry(dir: string, bundle: CopyBundle, index: number): LogEntry {
  try {
    return decodeLogEntry(bundle.raw[index - bundle.index * TILE_WIDTH]!);
  } catch (e) {
    throw new ConsoleError('COPY_INVALID', `${relative(dir, bundle.file)}: log entry ${index} is malformed`, {
      cause: e,
    });
  }
}

/** Log entries of the copy by index, read from its bundles through a small cache. */
export class EntryLookup {
  private readonly cache = new Map<number, CopyBundle>();

  constructor(
    private readonly dir: string,
    private readonly treeSize: number,
  ) {}

  /** The entry at `index` (< treeSize) and the bundle file it is in. */
  entry(index: number): { entry: LogEntry; file: string } {
    const b = Math.floor(index / TILE_WIDTH);
    let bundle = this.cache.get(b);
    if (bundle === undefined) {
      bundle = readCopyBundle(this.dir, b, this.treeSize);
      if (this.cache.size >= CACHED_BUNDLES) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(b, bundle);
    }
    return { entry: decodeCopyEntry(this.dir, bundle, index), file: bundle.file };
  }
}
