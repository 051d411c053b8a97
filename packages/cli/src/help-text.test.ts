/**
 * Every `custos … --help` against the command's real flags: an option the help lists is one
 * the command accepts, an option the command accepts is named in its help, and no line is
 * wider than {@link MAX_HELP_WIDTH} (a newcomer's walkthrough found listed options that did
 * not exist, missing ones, and lines that wrapped on a terminal). Flags are probed with
 * CliIo.checkOnly: parsing only, nothing runs.
 */
import { describe, expect, it } from 'vitest';
import { cli } from './testing/run-cli.js';

/** Widest help line: the guides' width, and what a terminal beside an editor shows. */
const MAX_HELP_WIDTH = 100;

/** Each command as run (a group by one of its subcommands: they share the group's flags). */
const COMMANDS: readonly (readonly string[])[] = [
  ['server'],
  ['server', 'bootstrap-token'],
  ['doctor'],
  ['enroll'],
  ['send'],
  ['sync'],
  ['pending'],
  ['chat'],
  ['contacts'],
  ['safety-number'],
  ['devices', 'list'],
  ['archive', 'status'],
  ['admin', 'invite'],
  ['group', 'list'],
  ['demo'],
  ['org', 'create'],
  ['org', 'unlock'],
  ['org', 'buckets'],
  ['org', 'officers', 'add'],
  ['console', 'enroll'],
  ['console', 'grant-index-keys'],
  ['console', 'reseal'],
  ['console', 'search'],
  ['console', 'hold', 'list'],
  ['console', 'dispose'],
  ['console', 'export'],
  ['console', 'completeness'],
  ['console', 'alerts'],
  ['console', 'lexicon', 'list'],
  ['console', 'review', 'next'],
  ['console', 'audit'],
  ['console', 'archive-copy'],
  ['verify', 'log'],
  ['verify', 'witness-key'],
  ['verify', 'copy'],
  ['verify', 'some-export'],
];

const OPTION = /--([a-z][a-z0-9-]*)/g;

/** The options an option line or a synopsis line of `help` names (--help aside: every command answers it). */
function listedOptions(help: string): Set<string> {
  const out = new Set<string>();
  for (const line of help.split('\n')) {
    // Option lines ('  --name …', '  --from DATE, --to DATE', '  --from/--to DATE'), and synopses.
    const head = /^ {2,}(--\S+(?:(?:, |\/)--\S+)*)/.exec(line)?.[1];
    if (head !== undefined) for (const m of head.matchAll(OPTION)) out.add(m[1]!);
    if (/^(Usage: | {7})custos /.test(line) || /^ {2,}\[--/.test(line))
      for (const m of line.matchAll(OPTION)) out.add(m[1]!);
  }
  out.delete('help');
  return out;
}

/** True when `command` accepts `--name` (parsing only). */
async function accepts(command: readonly string[], name: string): Promise<boolean> {
  const r = await cli([...command, `--${name}=x`], { checkOnly: true });
  // The server's settings parser words it "Unknown option '--name'".
  return !new RegExp(`unknown option '?--${name}\\b`, 'i').test(r.err);
}

describe('help texts', () => {
  const helps = new Map<string, string>();
  const helpOf = async (command: readonly string[]): Promise<string> => {
    const key = command.join(' ');
    let h = helps.get(key);
    if (h === undefined) {
      const r = await cli([...command, '--help']);
      expect(r.code, key).toBe(0);
      h = r.out;
      helps.set(key, h);
    }
    return h;
  };

  it('fit in the width, top-level and group helps included', async () => {
    const texts = [
      ...(await Promise.all(COMMANDS.map(helpOf))),
      (await cli(['--help'])).out,
      (await cli(['org', '--help'])).out,
      (await cli(['console', '--help'])).out,
    ];
    const wide = texts.flatMap((t) => t.split('\n')).filter((l) => [...l].length > MAX_HELP_WIDTH);
    expect(wide).toEqual([]);
  });

  it('start every option description of one help in one column', async () => {
    const misaligned: string[] = [];
    for (const command of COMMANDS) {
      // '  --name VALUE    description': where the description starts.
      const columns = new Map<number, string>();
      for (const line of (await helpOf(command)).split('\n')) {
        const m = /^( {2}--\S.*? {2,})\S/.exec(line);
        if (m !== null) columns.set([...m[1]!].length, line);
      }
      if (columns.size > 1) misaligned.push(`${command.join(' ')}: ${[...columns.values()].join(' | ')}`);
    }
    expect(misaligned).toEqual([]);
  });

  it('list only options their command accepts', async () => {
    const bad: string[] = [];
    for (const command of COMMANDS) {
      const help = await helpOf(command);
      for (const name of listedOptions(help))
        if (!(await accepts(command, name))) bad.push(`${command.join(' ')}: --${name}`);
    }
    expect(bad).toEqual([]);
  });

  it("name every option their command accepts (any command's option, probed on each)", async () => {
    const universe = new Set<string>();
    for (const command of COMMANDS) for (const o of listedOptions(await helpOf(command))) universe.add(o);
    const missing: string[] = [];
    for (const command of COMMANDS) {
      const help = await helpOf(command);
      const named = new Set([...help.matchAll(OPTION)].map((m) => m[1]!));
      for (const name of universe) {
        if (named.has(name) || !(await accepts(command, name))) continue;
        // doctor takes every server setting and says so instead of repeating the list.
        if (command[0] === 'doctor' && (await accepts(['server'], name))) continue;
        missing.push(`${command.join(' ')}: --${name}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
