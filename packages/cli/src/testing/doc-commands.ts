/**
 * The `custos …` command lines printed in a Markdown guide's code blocks, as argument lists
 * for the CLI's own parser. Usage notation is read as a person would: `[…]` optional parts
 * are kept (all of them, so every documented flag is checked), `(a | b)` and `[a | b]`
 * alternatives give one command line each, `# …` ends a line, indented lines and a trailing
 * `\` continue the command, and quotes group words. A line may start with `custos`, with
 * `node packages/cli/dist/main.js` (a fresh clone) or with `npm start --` (`custos server`).
 * A `|` outside brackets is not read (which words would it separate?): such a line keeps a
 * lone `|` word, which the CLI refuses, so the guide must write one form per line.
 */

/** One documented command: where it is and its arguments after `custos`. */
export interface DocCommand {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly args: readonly string[];
}

/** Drops a `# comment` outside quotes. */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

/** Shell-like words: whitespace splits, quotes group (and are removed). */
function words(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

/** Every reading of `(a | b)` and `[a | b]` groups: one text per alternative (groups do not nest in the guides). */
function alternatives(text: string): string[] {
  const m = /\(([^()]*\|[^()]*)\)|\[([^[\]]*\s\|\s[^[\]]*)\]/.exec(text);
  if (m === null) return [text];
  const inner = m[1] ?? m[2]!;
  return inner
    .split('|')
    .flatMap((alt) =>
      alternatives(`${text.slice(0, m.index)} ${alt.trim()} ${text.slice(m.index + m[0].length)}`),
    );
}

/** A word without the brackets of optional parts; a bracket pair inside it (`KIND[,KIND…]`) stays. */
function unbracket(word: string): string {
  const w = word.replace(/^\[+/, '');
  const inner = (w.match(/\[/g) ?? []).length;
  const closing = /\]*$/.exec(w)![0].length;
  return w.slice(0, w.length - Math.max(0, closing - inner));
}

/** How a documented command line may start, and the `custos` arguments that start stands for. */
const STARTS: readonly { readonly prefix: string; readonly args: readonly string[] }[] = [
  { prefix: 'custos ', args: [] },
  { prefix: 'node packages/cli/dist/main.js ', args: [] },
  { prefix: 'npm start -- ', args: ['server'] },
  { prefix: 'npm ci && npm start -- ', args: ['server'] },
];

/** The `custos` command lines of one Markdown text. */
export function docCommands(file: string, markdown: string): DocCommand[] {
  const lines = markdown.split('\n');
  const out: DocCommand[] = [];
  let inCode = false;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.startsWith('```')) {
      inCode = !inCode;
      continue;
    }
    const first = stripComment(lines[i]!).trimEnd();
    const start = inCode ? STARTS.find((s) => first.startsWith(s.prefix)) : undefined;
    if (start === undefined) continue;
    const at = i + 1;
    let text = first;
    // A trailing backslash or an indented next line continues the command.
    while (i + 1 < lines.length && (text.endsWith('\\') || /^\s+\S/.test(lines[i + 1]!))) {
      const next = stripComment(lines[i + 1]!).trim();
      if (next === '' || next.startsWith('```')) break;
      text = `${text.replace(/\\$/, '')} ${next}`;
      i++;
    }
    for (const reading of alternatives(text))
      out.push({
        file,
        line: at,
        text,
        args: [
          ...start.args,
          ...words(reading.slice(start.prefix.length))
            .map(unbracket)
            .filter((w) => w !== ''),
        ],
      });
  }
  return out;
}
