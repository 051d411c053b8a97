/**
 * Fuzzes the reader of the server's archive-policy claim (the `org` part of a prekey bundle
 * answer, archive-notices.ts): mutated JSON bytes with core's fuzzer, and every JSON shape in
 * the `org` field with fast-check. Each input is read or refused with a ClientError
 * (SERVER_RESPONSE_INVALID); anything else fails.
 */
import { CustosError } from '@custos/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isClientError } from '../errors.js';
import { obj } from '../transport/response-checks.js';
import { parseServerClaim } from './archive-notices.js';

type Fuzz = (
  parse: (b: Uint8Array) => unknown,
  seeds: readonly Uint8Array[],
) => { accepted: number; rejected: number; failures: readonly { error: string }[] };

/** core's fuzzer is test-only (not exported, outside this package's rootDir): loaded from source at run time. */
async function fuzzParser(): Promise<Fuzz> {
  const url = new URL('../../../core/src/testing/fuzz.ts', import.meta.url).href;
  const mod = (await import(url)) as { fuzzParser: Fuzz };
  return mod.fuzzParser;
}

/** Reads a bundle answer's claim from bytes; refusals become CustosError, as the fuzzer expects. */
function readClaim(b: Uint8Array): unknown {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(b).toString('utf8'));
  } catch {
    throw new CustosError('MALFORMED_INPUT', 'not JSON');
  }
  try {
    return parseServerClaim(obj(v, 'prekey bundles'), 'org-a');
  } catch (e) {
    if (isClientError(e, 'SERVER_RESPONSE_INVALID')) throw new CustosError('MALFORMED_INPUT', e.message);
    throw e;
  }
}

const SEEDS = [
  { devices: [], org: { name: 'Archiving Agency', archivePolicy: 'required' } },
  { devices: [], org: { name: 'Open Society', archivePolicy: 'none' } },
  { devices: [] },
  { devices: [], org: null },
  { devices: [], org: [] },
  { devices: [], org: { name: 7, archivePolicy: 'required' } },
  { devices: [], org: { name: 'x'.repeat(300), archivePolicy: 'required' } },
].map((s) => new Uint8Array(Buffer.from(JSON.stringify(s))));

describe('server archive-policy claim reader (fuzz)', () => {
  it('reads or refuses every mutated answer', async () => {
    const report = (await fuzzParser())(readClaim, SEEDS);
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThanOrEqual(3);
  });

  it('reads or refuses every JSON shape in the org field, and keeps only the two policies', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (org) => {
        let claim;
        try {
          claim = parseServerClaim({ devices: [], org }, 'org-a');
        } catch (e) {
          expect(isClientError(e, 'SERVER_RESPONSE_INVALID')).toBe(true);
          return;
        }
        if (claim !== undefined) expect(['required', 'none']).toContain(claim.archivePolicy);
      }),
    );
  });
});
