/**
 * The SQLite checkpoint worker works whatever flags the server process was started with. A
 * worker inherits its parent's flags: under `--input-type=module` (how the relay bench starts
 * its server) the worker's CommonJS source once ran as an ES module, died at once, and every
 * checkpoint fell back onto the event loop, inside a COMMIT. Runs the built store.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const STORE = fileURLToPath(
  new URL('../packages/server/dist/store/sqlite/sqlite-database.js', import.meta.url),
);

// 32 rows of 64 KiB: ~520 WAL pages, below the fallback's automatic checkpoint at 1,000, so
// only a working worker copies them into the database file.
const SCRIPT = `
import { statSync } from 'node:fs';
import { openSqliteDatabase } from ${JSON.stringify(STORE)};
const path = process.env.DB_PATH;
const d = openSqliteDatabase(path);
await d.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL) STRICT');
const before = statSync(path).size;
const big = Buffer.alloc(64 * 1024, 1);
for (let k = 1; k <= 32; k++) await d.run({ fragments: ['INSERT INTO t (k, v) VALUES (', ', ', ')'], values: [k, big] });
const deadline = Date.now() + 20000;
while (statSync(path).size <= before + 32 * 64 * 1024 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
process.stdout.write(JSON.stringify({ before, after: statSync(path).size }));
await d.close();
`;

describe('sqlite checkpoint worker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'custos-ckpt-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('checkpoints off the event loop in a process started with --input-type=module', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', SCRIPT], {
      env: { ...process.env, DB_PATH: join(dir, 'd.sqlite') },
      encoding: 'utf8',
    });
    const { before, after } = JSON.parse(out) as { before: number; after: number };
    expect(after).toBeGreaterThan(before + 32 * 64 * 1024);
  });
});
