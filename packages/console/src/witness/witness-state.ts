/**
 * The witness's memory: the last checkpoint it verified for one organisation's log and
 * the pinned log key. A JSON file written whole (temporary file, fsync, rename), parsed
 * strictly: a damaged or edited state file is an error, never a silent fresh start (a
 * fresh start would accept a rewritten log).
 */
import { readFileSync } from 'node:fs';
import { ConsoleError } from '../console-error.js';
import { writePrivateFile } from '../private-files.js';

/** Format tag of the state file. */
export const WITNESS_STATE_FORMAT = 'custos-witness-state';
/** Version of the state file. */
export const WITNESS_STATE_VERSION = 1;
/** Largest state file accepted (a checkpoint note is at most a few KiB). */
const MAX_STATE_BYTES = 64 * 1024;

/** The last verified checkpoint of one log. */
export interface WitnessState {
  readonly orgId: string;
  readonly origin: string;
  /** The pinned log verifier key (signed-note vkey string). */
  readonly verifierKey: string;
  readonly treeSize: number;
  readonly rootHash: Uint8Array;
  /** The signed checkpoint note as verified. */
  readonly checkpoint: string;
  /** When it was verified (ms since the Unix epoch). */
  readonly checkedAt: number;
  /** Runs that verified so far. */
  readonly checks: number;
}

/** Reads the state file; undefined when it does not exist. */
export function readWitnessState(path: string): WitnessState | undefined {
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > MAX_STATE_BYTES)
      throw new ConsoleError('STATE_INVALID', `${path} is too large for a witness state`);
    text = buf.toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (e instanceof ConsoleError) throw e;
    throw new ConsoleError('STATE_INVALID', `cannot read the witness state ${path}`, { cause: e });
  }
  return parseWitnessState(text, path);
}

/** Parses a state file's text; STATE_INVALID names the field. */
export function parseWitnessState(text: string, path = 'the state file'): WitnessState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConsoleError('STATE_INVALID', `${path} is not JSON`, { cause: e });
  }
  const bad = (field: string) =>
    new ConsoleError('STATE_INVALID', `${path}: ${field} is missing or malformed`);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('the top level');
  const o = v as Record<string, unknown>;
  if (o.format !== WITNESS_STATE_FORMAT) throw bad('format');
  if (o.version !== WITNESS_STATE_VERSION) throw bad('version');
  const str = (k: string) => {
    const s = o[k];
    if (typeof s !== 'string' || s.length === 0 || s.length > MAX_STATE_BYTES) throw bad(k);
    return s;
  };
  const int = (k: string) => {
    const n = o[k];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw bad(k);
    return n;
  };
  const root = str('rootHash');
  if (!/^[A-Za-z0-9_-]{43}$/.test(root)) throw bad('rootHash');
  return {
    orgId: str('orgId'),
    origin: str('origin'),
    verifierKey: str('verifierKey'),
    treeSize: int('treeSize'),
    rootHash: new Uint8Array(Buffer.from(root, 'base64url')),
    checkpoint: str('checkpoint'),
    checkedAt: int('checkedAt'),
    checks: int('checks'),
  };
}

/** The state file's text. */
export function formatWitnessState(s: WitnessState): string {
  return `${JSON.stringify(
    {
      format: WITNESS_STATE_FORMAT,
      version: WITNESS_STATE_VERSION,
      orgId: s.orgId,
      origin: s.origin,
      verifierKey: s.verifierKey,
      treeSize: s.treeSize,
      rootHash: Buffer.from(s.rootHash).toString('base64url'),
      checkpoint: s.checkpoint,
      checkedAt: s.checkedAt,
      checks: s.checks,
    },
    null,
    2,
  )}\n`;
}

/** Writes the state whole (0600). */
export function writeWitnessState(path: string, s: WitnessState): void {
  writePrivateFile(path, formatWitnessState(s));
}
