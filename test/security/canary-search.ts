/**
 * The threat model's "search everywhere" (docs/threat-model.md): a canary's UTF-8, UTF-16LE,
 * base64 (every alignment, standard and URL alphabets) and hex (both cases) forms, searched
 * in files, folders, process output and V8 heap snapshots. Each search reports which
 * encodings it found, so a test can show a planted copy is found in every encoding
 * (positive control) before it shows the real haystack has none.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The encodings a canary is searched in. */
export const ENCODINGS = ['utf8', 'utf16le', 'base64', 'hex'] as const;
/** One of {@link ENCODINGS}. */
export type Encoding = (typeof ENCODINGS)[number];

/** Where one encoding of the canary was found. */
export interface Hit {
  readonly where: string;
  readonly encoding: Encoding;
}

/** How long a heap snapshot may take to appear (a safety net, not a timing assertion). */
const SNAPSHOT_CAP_MS = 120_000;
const POLL_MS = 200;

/**
 * The base64 texts that any base64 encoding of a byte string containing `bytes` must contain:
 * for each of the three alignments, the characters that depend only on `bytes`.
 */
export function base64Needles(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const padded = Buffer.concat([Buffer.alloc(shift), bytes]);
    const whole = Math.floor(padded.length / 3) * 4;
    // With a shift, the first 4-character group mixes in the preceding bytes: skip it.
    const text = padded.toString('base64').slice(shift === 0 ? 0 : 4, whole);
    out.push(Buffer.from(text), Buffer.from(text.replaceAll('+', '-').replaceAll('/', '_')));
  }
  return out;
}

/** The byte strings that betray `canary` in each encoding. */
export function canaryNeedles(canary: string): ReadonlyMap<Encoding, readonly Buffer[]> {
  const utf8 = Buffer.from(canary, 'utf8');
  const hex = utf8.toString('hex');
  return new Map<Encoding, Buffer[]>([
    ['utf8', [utf8]],
    ['utf16le', [Buffer.from(canary, 'utf16le')]],
    ['base64', base64Needles(utf8)],
    ['hex', [Buffer.from(hex), Buffer.from(hex.toUpperCase())]],
  ]);
}

/** A byte string that contains `canary` in `encoding` (and, for a planted control, in no other). */
export function encodeCanary(canary: string, encoding: Encoding): Buffer {
  const utf8 = Buffer.from(canary, 'utf8');
  switch (encoding) {
    case 'utf8':
      return Buffer.from(`planted: ${canary}\n`);
    case 'utf16le':
      return Buffer.from(`planted: ${canary}\n`, 'utf16le');
    case 'base64':
      // Unaligned on purpose: the canary starts one byte into the encoded string.
      return Buffer.from(Buffer.concat([Buffer.from('x'), utf8]).toString('base64'));
    case 'hex':
      return Buffer.from(utf8.toString('hex'));
  }
}

/** The encodings of `canary` found in `haystack`. */
export function encodingsIn(haystack: Buffer, needles: ReadonlyMap<Encoding, readonly Buffer[]>): Encoding[] {
  return ENCODINGS.filter((e) => needles.get(e)!.some((n) => haystack.includes(n)));
}

/** Every file under `dir`, recursively (the SQLite WAL and shared-memory files included). */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Hits of `canary` in every file under `dir`. */
export function searchFolder(dir: string, canary: string): Hit[] {
  const needles = canaryNeedles(canary);
  return filesUnder(dir).flatMap((f) =>
    encodingsIn(readFileSync(f), needles).map((encoding) => ({ where: f, encoding })),
  );
}

/** Hits of `canary` in a text or bytes labelled `where`. */
export function searchBytes(where: string, bytes: Buffer | string, canary: string): Hit[] {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  return encodingsIn(b, canaryNeedles(canary)).map((encoding) => ({ where, encoding }));
}

/**
 * Hits of `canary` in a V8 heap snapshot: in the file's bytes, and in its string table
 * decoded from JSON (escapes resolved) as UTF-8 and as UTF-16LE, so a string held in
 * either of V8's representations, or bytes held as a Latin-1 string, are found.
 */
export function searchHeapSnapshot(file: string, canary: string): Hit[] {
  const raw = readFileSync(file);
  const strings = (JSON.parse(raw.toString('utf8')) as { strings: string[] }).strings.join('\n');
  const needles = canaryNeedles(canary);
  const found = new Set<Encoding>();
  for (const view of [raw, Buffer.from(strings, 'utf8'), Buffer.from(strings, 'utf16le')]) {
    for (const e of encodingsIn(view, needles)) found.add(e);
  }
  return [...found].map((encoding) => ({ where: file, encoding }));
}

/**
 * Sends `signal` to `pid` (a process started with `--heapsnapshot-signal=<signal>` and
 * `--diagnostic-dir=<dir>`) and resolves to the path of the complete snapshot it writes.
 */
export async function takeHeapSnapshot(pid: number, dir: string, signal: NodeJS.Signals): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, signal);
  const end = Date.now() + SNAPSHOT_CAP_MS;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const fresh = readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    for (const f of fresh) {
      const p = join(dir, f);
      // The snapshot is written progressively: complete once it parses.
      try {
        JSON.parse(readFileSync(p, 'utf8'));
        return p;
      } catch {
        // not yet complete
      }
    }
  }
  throw new Error(`no heap snapshot from process ${pid} in ${dir}`);
}

/**
 * Positive control for heap snapshots: a throwaway node process that holds each canary in
 * `planted` as a string in one encoding (UTF-16LE: a string V8 stores as two-byte, which
 * the snapshot writes as UTF-8); resolves to its snapshot's path.
 */
export async function plantedHeapSnapshot(
  dir: string,
  planted: ReadonlyMap<Encoding, string>,
  signal: NodeJS.Signals,
): Promise<string> {
  // V8 holds a string with a character beyond Latin-1 as UTF-16LE: that is the UTF-16LE plant.
  const held = [...planted].map(([e, c]) =>
    e === 'utf16le' ? `\u4e00 planted: ${c}` : encodeCanary(c, e).toString('latin1'),
  );
  const child = spawn(
    process.execPath,
    [
      `--heapsnapshot-signal=${signal}`,
      `--diagnostic-dir=${dir}`,
      '-e',
      `globalThis.held = ${JSON.stringify(held)}; process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`control process exited (${code})`)));
    });
    return await takeHeapSnapshot(child.pid!, dir, signal);
  } finally {
    child.kill('SIGKILL');
  }
}
