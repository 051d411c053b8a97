/**
 * docs/api.md is rendered from the route schemas; this test fails when the committed file
 * differs. CUSTOS_UPDATE_DOCS=1 rewrites it instead.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import { renderApiDoc } from './api-doc.js';
import { ALL_ROUTES } from './routes/index.js';

const API_MD = fileURLToPath(new URL('../../../../docs/api.md', import.meta.url));
/** Loading prettier's markdown support and formatting the whole document takes ~5 s on a busy 2-core machine. */
const FORMAT_TIMEOUT_MS = 60_000;

describe('docs/api.md', () => {
  it(
    'equals the rendering of the route schemas',
    async () => {
      const options = (await prettier.resolveConfig(API_MD)) ?? {};
      const rendered = await prettier.format(renderApiDoc(ALL_ROUTES), { ...options, parser: 'markdown' });
      if (process.env.CUSTOS_UPDATE_DOCS === '1') writeFileSync(API_MD, rendered);
      expect(readFileSync(API_MD, 'utf8')).toBe(rendered);
    },
    FORMAT_TIMEOUT_MS,
  );

  it('documents every route', () => {
    const doc = renderApiDoc(ALL_ROUTES);
    for (const r of ALL_ROUTES) expect(doc).toContain(`### ${r.method} ${r.url}`);
  });
});
