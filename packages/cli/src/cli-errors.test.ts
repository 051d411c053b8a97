/**
 * docs/cli-errors.md has a table for each source of the codes the `custos` command can end
 * with: its own (CLI_ERROR_CODES), the SDK's, the console's, exports' and core's. Each table
 * and its list hold the same codes, both ways: a code added to the code, or removed from it,
 * fails here until the document follows. The exit status a row states is the one
 * explainFailure gives an error with that code (the server's habit: server/src/errors.test.ts).
 * The document is hand-written (what to do differs per code), so nothing regenerates it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLIENT_ERROR_CODES, ClientError, type ClientErrorCode } from '@custos/client';
import {
  CONSOLE_ERROR_CODES,
  ConsoleError,
  EXPORT_ERROR_CODES,
  ExportError,
  type ConsoleErrorCode,
  type ExportErrorCode,
} from '@custos/console';
import { CUSTOS_ERROR_CODES, CustosError, type CustosErrorCode } from '@custos/core';
import { describe, expect, it } from 'vitest';
import type { CliIo } from './cli.js';
import { CLI_ERROR_CODES, type CliErrorCode } from './cli-errors.js';
import { UsageError } from './command-flags.js';
import { CliFailure, EXIT_FAILURE, EXIT_USAGE, explainFailure, reportFailure } from './command-runner.js';
import { PassphraseInputError } from './passphrase-input.js';

const CLI_ERRORS_MD = fileURLToPath(new URL('../../../docs/cli-errors.md', import.meta.url));
const TEXT = readFileSync(CLI_ERRORS_MD, 'utf8');

/** The runner's own codes come from their error classes; every other CLI code is a CliFailure's. */
function cliError(code: CliErrorCode): unknown {
  switch (code) {
    case 'USAGE':
      return new UsageError('x');
    case 'PASSPHRASE':
      return new PassphraseInputError('x');
    case 'INTERNAL':
      return new Error('x');
    default:
      return new CliFailure(code, 'x');
  }
}

/** Each table of the document: its heading, the codes it must list, an error of each code. */
const TABLES: readonly {
  readonly heading: string;
  readonly codes: readonly string[];
  readonly raise: (code: string) => unknown;
  /** Codes printed under another name. */
  readonly printedAs?: Readonly<Record<string, string>>;
}[] = [
  {
    heading: 'Codes of the command itself',
    codes: CLI_ERROR_CODES,
    raise: (c) => cliError(c as CliErrorCode),
  },
  {
    heading: 'Codes of the client SDK',
    codes: CLIENT_ERROR_CODES,
    raise: (c) => new ClientError(c as ClientErrorCode, 'x'),
  },
  {
    heading: "Codes of the records officers' console",
    codes: CONSOLE_ERROR_CODES,
    raise: (c) => new ConsoleError(c as ConsoleErrorCode, 'x'),
    printedAs: { INVALID_OPTIONS: 'USAGE' },
  },
  {
    heading: 'Codes of exports and their verification',
    codes: EXPORT_ERROR_CODES,
    raise: (c) => new ExportError(c as ExportErrorCode, 'x'),
  },
  {
    heading: 'Codes of core',
    codes: CUSTOS_ERROR_CODES,
    raise: (c) => new CustosError(c as CustosErrorCode, 'x'),
  },
];

/** The text of the `## heading` section, up to the next one. */
function section(heading: string): string {
  const found = TEXT.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  if (found === undefined) throw new Error(`docs/cli-errors.md lost its section '## ${heading}'`);
  return found;
}

/** The `| \`CODE\` | exit | … |` rows of a section: code → exit status. */
function documented(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\|\s*`([A-Z_]+)`\s*\|\s*(\d)\s*\|.*\|$/.exec(line);
    if (m !== null) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('the custos command: docs/cli-errors.md', () => {
  for (const t of TABLES) {
    it(`'${t.heading}' lists exactly the codes, each with the exit status the runner gives`, () => {
      const doc = documented(section(t.heading));
      expect([...doc.keys()].sort()).toEqual([...t.codes].sort());
      for (const code of t.codes) {
        const f = explainFailure(t.raise(code), 'x');
        expect({ code, printed: f.code, exit: f.exit }).toEqual({
          code,
          printed: t.printedAs?.[code] ?? code,
          exit: doc.get(code),
        });
      }
    });
  }

  it('names every exit status a failure can have', () => {
    const statuses = [...section('Exit statuses').matchAll(/^\|\s*(\d)\s*\|/gm)].map((m) => Number(m[1]));
    expect(statuses).toEqual([0, EXIT_FAILURE, EXIT_USAGE]);
  });

  it('shows the --json failure object as reportFailure prints it, with a documented code', () => {
    const block = /```json\n(.*?)\n```/s.exec(section('What a failure prints'))?.[1];
    const example = JSON.parse(block ?? 'null') as { error: { code: string } };
    let out = '';
    const io = {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: () => true },
    } as unknown as CliIo;
    reportFailure(new CliFailure('NO_PROFILE', 'no profile'), 'sync', io, true);
    // One line of JSON, with the same keys at each level as the example.
    expect(out.trimEnd().split('\n')).toHaveLength(1);
    const printed = JSON.parse(out) as { error: Record<string, unknown> };
    expect(Object.keys(printed)).toEqual(Object.keys(example));
    expect(Object.keys(printed.error)).toEqual(Object.keys(example.error));
    expect(CLI_ERROR_CODES).toContain(example.error.code);
  });
});
