/** The names file: written 0600 and read back; every malformed file refused, naming what is wrong. */
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkNamesOrg,
  MAX_NAMES_FILE_BYTES,
  parseNamesFile,
  readNamesFile,
  recordNames,
  writeNamesFile,
} from './names-file.js';

const ORG = 'oooooooooooooooooooooo';
const ALICE = 'aaaaaaaaaaaaaaaaaaaaa1';
const BOB = 'bbbbbbbbbbbbbbbbbbbbb2';
const dir = mkdtempSync(join(tmpdir(), 'custos-names-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const doc = (o: Record<string, unknown> = {}) => ({
  format: 'custos-names',
  version: 1,
  org: { id: ORG, name: 'Example Agency' },
  users: { [ALICE]: 'Alice Example' },
  ...o,
});
const parse = (v: unknown) => parseNamesFile(Buffer.from(JSON.stringify(v)), 'names.json');

describe('names file', () => {
  it('writes mode 0600 (also over an existing file) and reads back what the admin named', () => {
    const path = join(dir, 'names.json');
    writeFileSync(path, 'old');
    chmodSync(path, 0o644);
    writeNamesFile(path, {
      org: { id: ORG, name: 'Agência Exemplo' },
      users: new Map([
        [BOB, 'Bob'],
        [ALICE, 'Alice "Al" Example'],
      ]),
    });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const n = readNamesFile(path);
    expect(n.org).toEqual({ id: ORG, name: 'Agência Exemplo' });
    expect([...n.users]).toEqual([
      [ALICE, 'Alice "Al" Example'],
      [BOB, 'Bob'],
    ]);
    // Records name users ORGID.USERID; an export whose custodian is the organisation names it too.
    expect(recordNames(n, `${ORG} (organisation)`)).toEqual(
      new Map([
        [`${ORG}.${ALICE}`, 'Alice "Al" Example'],
        [`${ORG}.${BOB}`, 'Bob'],
        [`${ORG} (organisation)`, 'Agência Exemplo'],
      ]),
    );
    expect(() => checkNamesOrg(n, path, 'pppppppppppppppppppppp')).toThrow(
      /names organisation o+, not yours/,
    );
  });

  it('refuses a name an admin could not hand over, before writing', () => {
    const path = join(dir, 'refused.json');
    expect(() =>
      writeNamesFile(path, { org: { id: ORG, name: 'Agency\r\nX-Injected: 1' }, users: new Map() }),
    ).toThrow(/org.name contains control characters/);
    expect(() => statSync(path)).toThrow();
  });

  it.each([
    ['not JSON', Buffer.from('{'), /not UTF-8 JSON/],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), /not UTF-8 JSON/],
    ['a list', [], /not a JSON object/],
    ['another format', doc({ format: 'x' }), /format is not 'custos-names'/],
    ['version 2', doc({ version: 2 }), /version 2 is not supported/],
    ['an unknown field', doc({ extra: 1 }), /unknown field 'extra'/],
    ['an org without id', doc({ org: { name: 'X' } }), /org.id is not an organisation id/],
    ['an org id of another shape', doc({ org: { id: 'x.y', name: 'X' } }), /org.id/],
    ['users as a list', doc({ users: [] }), /users is not an object/],
    ['a key not a user id', doc({ users: { 'alice@example': 'A' } }), /not a user id \('alice@example'\)/],
    ['a name not a string', doc({ users: { [ALICE]: 7 } }), /is not a string/],
    ['an empty name', doc({ users: { [ALICE]: '  ' } }), /has not 1 to 64 characters/],
    ['a very long name', doc({ users: { [ALICE]: 'A'.repeat(65) } }), /has not 1 to 64 characters/],
    ['CR/LF in a name', doc({ users: { [ALICE]: 'Alice\r\nBcc: x' } }), /contains control characters/],
    ['a bidi override', doc({ users: { [ALICE]: 'Alice\u202eevil' } }), /contains control characters/],
    ['a C1 control', doc({ users: { [ALICE]: 'Alice\u009b31m' } }), /contains control characters/],
  ])('refuses %s with NAMES_FILE_INVALID naming the problem', (_, v, msg) => {
    const bytes = Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v));
    let err: unknown;
    try {
      parseNamesFile(bytes, 'names.json');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'NAMES_FILE_INVALID' });
    expect((err as Error).message).toMatch(/^names file names\.json: /);
    expect((err as Error).message).toMatch(msg);
  });

  it('keeps non-ASCII, quotes and 64-character names; refuses a file over the size cap unread', () => {
    const long = 'É'.repeat(64);
    expect(parse(doc({ users: { [ALICE]: long, [BOB]: 'O\'Brien, "Bob"' } })).users.get(ALICE)).toBe(long);
    const big = join(dir, 'big.json');
    writeFileSync(big, Buffer.alloc(MAX_NAMES_FILE_BYTES + 1, 0x20));
    expect(() => readNamesFile(big)).toThrow(/larger than 1048576 bytes/);
    expect(() => readNamesFile(join(dir, 'missing.json'))).toThrow(/cannot be read/);
  });
});
