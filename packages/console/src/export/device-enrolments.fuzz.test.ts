/**
 * Fuzzing `device-enrolments.json` as `custos verify` reads it (parse, then check against a
 * real manifest): on random bytes, byte mutations of a valid file and valid files with one
 * field replaced by any JSON value, the check passes or throws an ExportError naming the
 * file — never a raw TypeError, RangeError or another error type.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildExport } from './build-export.js';
import { parseCustody, type CustodyManifest } from './custody-manifest.js';
import { checkDeviceEnrolments, DEVICE_ENROLMENTS_FILE } from './device-enrolments.js';
import { ExportError } from './export-error.js';
import { buildTestArchive, mixedEvents } from './export-test-support.js';

/** A third of the configured runs: each run verifies a checkpoint signature and proofs (about 3 ms). */
const RUNS = Math.ceil(Number(process.env.CUSTOS_FUZZ_RUNS ?? 3000) / 3);

let manifest: CustodyManifest;
let seed: Uint8Array;

beforeAll(async () => {
  const archive = await buildTestArchive(mixedEvents(), 3);
  const built = await buildExport(archive.input, { format: 'json' });
  manifest = parseCustody(built.files.find((f) => f.path === 'custody-manifest.json')!.bytes);
  seed = built.files.find((f) => f.path === DEVICE_ENROLMENTS_FILE)!.bytes;
});

/** The check's outcome: 'ok', or the ExportError's code; anything else fails the property. */
function outcome(bytes: Uint8Array): string {
  try {
    checkDeviceEnrolments(manifest, bytes);
    return 'ok';
  } catch (e) {
    if (!(e instanceof ExportError)) throw e;
    expect(e.subject.file).toBe(DEVICE_ENROLMENTS_FILE);
    return e.code;
  }
}

/** `doc` with the value at a path (chosen by `pick`) replaced by `value`. */
function replaceAt(doc: unknown, pick: number, value: unknown): unknown {
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]): void => {
    paths.push(path);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (typeof v === 'object' && v !== null)
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(doc, []);
  const path = paths[pick % paths.length]!;
  if (path.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let at = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  at[path[path.length - 1]!] = value;
  return copy;
}

describe('device-enrolments.json (fuzz)', () => {
  it('accepts the valid file', () => {
    expect(outcome(seed)).toBe('ok');
  });

  it('never throws anything but an ExportError naming the file', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc
        .tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat())
        .map(([edits, cut]) => {
          const b = Uint8Array.from(seed);
          for (const [at, v] of edits) b[at % b.length] = v;
          return cut % 5 === 0 ? b.subarray(0, cut % (b.length + 1)) : b;
        }),
      fc.tuple(fc.nat(), fc.jsonValue()).map(([pick, value]) => {
        const doc = JSON.parse(Buffer.from(seed).toString('utf8')) as unknown;
        return new TextEncoder().encode(JSON.stringify(replaceAt(doc, pick, value)));
      }),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        outcome(b);
      }),
      { numRuns: RUNS },
    );
  });
});
