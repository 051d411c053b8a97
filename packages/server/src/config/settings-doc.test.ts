/** docs/operations.md's configuration table names every setting with its flag and environment variable. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from './settings.js';

const OPERATIONS_MD = fileURLToPath(new URL('../../../../docs/operations.md', import.meta.url));

describe('docs/operations.md', () => {
  it('has a row per setting with its key, flag and environment variable', () => {
    const rows = readFileSync(OPERATIONS_MD, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('| `'));
    for (const s of SETTINGS) {
      const row = rows.find((r) => r.startsWith(`| \`${s.key}\``));
      expect(row, s.key).toBeDefined();
      expect(row).toContain(`\`--${s.flag}\``);
      expect(row).toContain(`\`${s.env}\``);
    }
  });
});
