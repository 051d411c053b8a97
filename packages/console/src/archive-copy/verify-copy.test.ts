/**
 * verifyArchiveCopy offline: a good copy verifies, with and without the log key given; one
 * altered byte in any file of it — a record, an entry bundle, a leaf tile, a device page, a
 * bucket document, the org keys, the profile's org.json, the checkpoint or the frontier
 * the next run extends — fails naming that file, and so does a
 * deleted record or page. Another log key is LOG_KEY_MISMATCH.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSignerKey } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConsoleError } from '../console-error.js';
import { COPY_STATE_FILE } from './copy-files.js';
import { DEV_A, DEV_B, KEPT, SHORT, startFakeOrg } from './copy-test-support.js';
import { takeArchiveCopy } from './take-copy.js';
import { verifyArchiveCopy } from './verify-copy.js';

describe('verifyArchiveCopy', () => {
  let root: string;
  let good: string;
  let logKey: string;
  let recordName: string;
  let recordIndex: number;
  let n = 0;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'custos-verify-copy-'));
    good = join(root, 'good');
    const org = await startFakeOrg();
    try {
      org.addRecords(DEV_A, 200, KEPT);
      org.addRecords(DEV_B, 100, SHORT);
      logKey = (await takeArchiveCopy(org.session(), good)).log.verifierKey;
      const r = org.records[42]!;
      recordIndex = r.logIndex;
      recordName = createHash('sha256').update(r.bytes).digest('hex');
    } finally {
      await org.close();
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** A fresh copy of the good copy, `change`d, verified: the COPY_INVALID message. */
  const broken = (change: (dir: string) => void, code = 'COPY_INVALID'): string => {
    const dir = join(root, `case-${n++}`);
    cpSync(good, dir, { recursive: true });
    change(dir);
    let e: unknown;
    try {
      verifyArchiveCopy(dir);
    } catch (x) {
      e = x;
    }
    expect(isConsoleError(e), String(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    return (e as Error).message;
  };
  const flip = (file: string, at: (length: number) => number = (l) => l >> 1) => {
    const b = readFileSync(file);
    const i = at(b.length);
    b[i] = b[i]! ^ 0x01;
    writeFileSync(file, b);
  };

  it('verifies a good copy, with its own log key or the one given', () => {
    expect(verifyArchiveCopy(good)).toMatchObject({
      logKeyGiven: false,
      treeSize: expect.any(Number),
      recordsLogged: 300,
      records: 300,
      devices: 2,
      buckets: 2,
      complete: true,
    });
    expect(verifyArchiveCopy(good, { logKey }).logKeyGiven).toBe(true);
    const other = generateSignerKey(logKey.split('+')[0]!).verifierKey;
    const e: unknown = (() => {
      try {
        return verifyArchiveCopy(good, { logKey: other });
      } catch (x) {
        return x;
      }
    })();
    expect(isConsoleError(e, 'LOG_KEY_MISMATCH')).toBe(true);
  });

  it('names a record file with one byte altered, or deleted', () => {
    const file = join('records', recordName.slice(0, 2), recordName);
    expect(broken((d) => flip(join(d, file)))).toBe(
      `${file}: was altered: it does not hash to log entry ${recordIndex} (record ${DEV_A}#42, log index ${recordIndex})`,
    );
    expect(broken((d) => unlinkSync(join(d, file)))).toMatch(
      new RegExp(`^${file}: missing \\(record ${DEV_A}#42`),
    );
    // A deleted record the state calls disposed, with no certificate the copy keeps: still missing.
    const disposedWithout = (d: string) => {
      unlinkSync(join(d, file));
      const st = JSON.parse(readFileSync(join(d, COPY_STATE_FILE), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(d, COPY_STATE_FILE), JSON.stringify({ ...st, disposedLeaves: [recordIndex] }));
    };
    expect(broken(disposedWithout)).toMatch(new RegExp(`^${file}: missing \\(record ${DEV_A}#42`));
  });

  it('names an altered entry bundle, and an altered leaf tile', () => {
    // A byte of an entry's hash (the 32 bytes before the last few fields are hard to aim at: any byte will do).
    expect(broken((d) => flip(join(d, 'log', 'tile', 'entries', '000'), () => 100))).toMatch(
      /^log\/tile\/entries\/000: /,
    );
    expect(broken((d) => flip(join(d, 'log', 'tile', '0', '000')))).toMatch(
      /^log\/tile\/0\/000: was altered: its leaf hashes are not those of its entry bundle/,
    );
  });

  it('names an altered or deleted device page', () => {
    const pages = join('devices', DEV_A);
    const page = join(pages, readdirSync(join(good, pages)).sort()[0]!);
    expect(
      broken((d) => {
        const f = join(d, page);
        writeFileSync(f, readFileSync(f, 'utf8').replace('"seq": 3,', '"seq": 4,'));
      }),
    ).toMatch(new RegExp(`^${page}: was altered: record ${DEV_A}#4 is not log entry 3`));
    expect(broken((d) => unlinkSync(join(d, page)))).toMatch(
      new RegExp(`^${pages}: no page lists record ${DEV_A}#0`),
    );
  });

  it('names an altered bucket document, org keys file, checkpoint, frontier and profile org.json', () => {
    const bucket = join('keys', 'buckets', `${KEPT}.json`);
    expect(
      broken((d) => {
        const f = join(d, bucket);
        const j = JSON.parse(readFileSync(f, 'utf8')) as { document: string };
        const doc = Buffer.from(j.document, 'base64url');
        doc[doc.length - 1] = doc[doc.length - 1]! ^ 1;
        writeFileSync(f, JSON.stringify({ ...j, document: doc.toString('base64url') }));
      }),
    ).toMatch(new RegExp(`^${bucket}: its bucket document does not verify`));
    expect(
      broken((d) => {
        const f = join(d, 'keys', 'org.json');
        const j = JSON.parse(readFileSync(f, 'utf8')) as { signingPublicKey: string };
        const k = Buffer.from(j.signingPublicKey, 'base64url');
        k[0] = k[0]! ^ 1;
        writeFileSync(f, JSON.stringify({ ...j, signingPublicKey: k.toString('base64url') }));
      }),
    ).toMatch(/^keys\/org\.json: names another org signing key/);
    expect(
      broken((d) => {
        const f = join(d, COPY_STATE_FILE);
        const j = JSON.parse(readFileSync(f, 'utf8')) as { checkpoint: string };
        writeFileSync(f, JSON.stringify({ ...j, checkpoint: j.checkpoint.replace(/\n\d+\n/, '\n1\n') }));
      }),
    ).toMatch(/^custos-copy\.json: its checkpoint does not verify/);
    expect(
      broken((d) => {
        const f = join(d, COPY_STATE_FILE);
        const j = JSON.parse(readFileSync(f, 'utf8')) as { frontier: string[] };
        writeFileSync(
          f,
          JSON.stringify({ ...j, frontier: [Buffer.alloc(32).toString('base64'), ...j.frontier.slice(1)] }),
        );
      }),
    ).toBe("custos-copy.json: was altered: its tree frontier is not the log's");
    expect(
      broken((d) => {
        const f = join(d, 'keys', 'org-profile.json');
        const j = JSON.parse(readFileSync(f, 'utf8')) as { buckets: { publicKey: string }[] };
        j.buckets[0]!.publicKey = Buffer.alloc(32, 9).toString('base64url');
        writeFileSync(f, JSON.stringify(j));
      }),
    ).toMatch(/^keys\/org-profile\.json: does not verify against the org signing key/);
  });
});
