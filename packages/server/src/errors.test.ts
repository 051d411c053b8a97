/**
 * docs/errors.md and SERVER_ERRORS list the same codes, statuses and meanings (fastify's
 * habit). CUSTOS_UPDATE_DOCS=1 rewrites the table (everything after its header row) from
 * SERVER_ERRORS; the prose above it is hand-written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import { SERVER_ERRORS, SERVER_ERROR_CODES, ServerError } from './errors.js';

const ERRORS_MD = fileURLToPath(new URL('../../../docs/errors.md', import.meta.url));
const TABLE_HEADER = /^\|\s*code\s*\|\s*HTTP status\s*\|\s*meaning\s*\|$/m;

function documented(text: string): Map<string, { status: number; doc: string }> {
  const out = new Map<string, { status: number; doc: string }>();
  for (const line of text.split('\n')) {
    const m = /^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|\s*(.*?)\s*\|$/.exec(line);
    if (m !== null) out.set(m[1]!, { status: Number(m[2]), doc: m[3]!.replaceAll('\\|', '|') });
  }
  return out;
}

async function regenerate(text: string): Promise<string> {
  const at = TABLE_HEADER.exec(text);
  if (at === null) throw new Error('docs/errors.md lost its table header');
  const rows = SERVER_ERROR_CODES.map(
    (c) => `| \`${c}\` | ${SERVER_ERRORS[c].status} | ${SERVER_ERRORS[c].doc.replaceAll('|', '\\|')} |`,
  );
  const md = `${text.slice(0, at.index)}| code | HTTP status | meaning |\n| --- | --- | --- |\n${rows.join('\n')}\n`;
  const options = (await prettier.resolveConfig(ERRORS_MD)) ?? {};
  return prettier.format(md, { ...options, parser: 'markdown' });
}

describe('server errors', () => {
  it('docs/errors.md lists exactly the codes, with their status and meaning', async () => {
    let text = readFileSync(ERRORS_MD, 'utf8');
    if (process.env.CUSTOS_UPDATE_DOCS === '1') {
      text = await regenerate(text);
      writeFileSync(ERRORS_MD, text);
    }
    const doc = documented(text);
    expect([...doc.keys()]).toEqual(SERVER_ERROR_CODES);
    for (const code of SERVER_ERROR_CODES) expect(doc.get(code)).toEqual(SERVER_ERRORS[code]);
  });

  it('maps each code to a 4xx or 5xx status on the instance', () => {
    for (const code of SERVER_ERROR_CODES) {
      const e = new ServerError(code);
      expect(e.statusCode).toBe(SERVER_ERRORS[code].status);
      expect(e.statusCode).toBeGreaterThanOrEqual(400);
      expect(e.message).toBe(SERVER_ERRORS[code].doc);
    }
  });
});
