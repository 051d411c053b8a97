import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { rsmfFileProblems, rsmfManifestProblems, rsmfZipProblems } from './rsmf-check.js';

const fixture = (p: string): Buffer => readFileSync(new URL(`./fixtures/rsmf/${p}`, import.meta.url));
const json = (p: string): unknown => JSON.parse(fixture(p).toString('utf8'));
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(json('rsmf_schema_2_0_0.json') as object);

// Relativity's deliberately invalid samples (BSD-2-Clause, see fixtures/rsmf/README.md).
describe("the RSMF checker rejects each of Relativity's invalid samples", () => {
  it('Sample1: a participant without an id, so nothing that names participant "1" resolves', () => {
    const p = rsmfManifestProblems(json('invalid-samples/Sample1/rsmf_manifest.json'));
    expect(p).toEqual([
      'participants[0] has no string id',
      'conversation "1" participants[0] "1" is not a participant',
      'events[0] ("1") participant "1" is not a participant',
    ]);
    expect(validate(json('invalid-samples/Sample1/rsmf_manifest.json'))).toBe(false);
  });

  it('Sample2: a bare zip whose manifest is version 1.0.0 and names an avatar the zip lacks', () => {
    expect(rsmfZipProblems(fixture('invalid-samples/Sample2.rsmf.zip'))).toEqual([
      'manifest version 1.0.0 is not 2.x',
      'participant "1" avatar names file "AV1", which is not in the zip',
    ]);
  });

  it('Sample3: a message with two attachments (the avatar outside rsmf.zip)', () => {
    const r = rsmfFileProblems(fixture('invalid-samples/Sample3/sample.rsmf'));
    expect(r.problems).toEqual(['has 2 attachments; an RSMF file has exactly one, rsmf.zip']);
    // The schema alone objects only to the zone-less timestamp (which its own examples use);
    // the second attachment is caught by the message-level check.
    validate(r.contents!.manifest);
    expect(validate.errors?.map((e) => `${e.instancePath} ${e.message ?? ''}`)).toEqual([
      '/events/0/timestamp must match format "date-time"',
    ]);
  });

  it('Sample4: a numeric participant id, dangling references and an undefined event field', () => {
    const p = rsmfManifestProblems(json('invalid-samples/Sample4/rsmf_manifest.json'));
    expect(p).toEqual([
      'participants[0] has no string id',
      'conversation "1" participants[0] "2" is not a participant',
      'events[0] has field "attachment", which RSMF 2.0 does not define',
      'events[0] participant "1" is not a participant',
    ]);
  });
});

describe('rsmf.zip reading', () => {
  const manifest = {
    version: '2.0.0',
    participants: [{ id: 'p', avatar: 'a.bin' }],
    conversations: [],
    events: [],
  };
  const zip = (): Uint8Array =>
    zipSync({ 'rsmf_manifest.json': Buffer.from(JSON.stringify(manifest)), 'a.bin': new Uint8Array(10) });

  it('sees the files beside the manifest without inflating them', () => {
    expect(rsmfZipProblems(zip())).toEqual([]);
  });

  it('refuses a manifest whose declared size is absurd, before allocating it', () => {
    const z = Buffer.from(zip());
    // Central directory entry of rsmf_manifest.json: uncompressed size at +24.
    for (
      let at = z.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
      at >= 0;
      at = z.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), at + 4)
    )
      if (z.subarray(at + 46, at + 46 + 18).toString() === 'rsmf_manifest.json')
        z.writeUInt32LE(0xfffffff0, at + 24);
    expect(rsmfZipProblems(z)).toEqual([`rsmf_manifest.json declares more than ${256 * 1024 * 1024} bytes`]);
  });
});
