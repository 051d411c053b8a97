/**
 * Passphrases for commands: typed on a terminal without echo (and typed twice when a new
 * one is being set), or read from a file for automation. Passphrases are never printed,
 * logged or put in an error message.
 */
import { readFileSync, statSync } from 'node:fs';
import { optionalString, type ParsedFlags } from './command-flags.js';

/** Environment variable naming a passphrase file (automation): what --passphrase-file falls back to. */
export const PASSPHRASE_FILE_ENV = 'CUSTOS_PASSPHRASE_FILE';

/** Largest passphrase file read. */
const MAX_PASSPHRASE_FILE_BYTES = 64 * 1024;
const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = ['\u007f', '\b'];

/** A passphrase input problem (no terminal, bad file, mismatch). */
export class PassphraseInputError extends Error {
  override readonly name = 'PassphraseInputError';
}

/**
 * Reads a passphrase file: one passphrase per line (a final newline and CRs are ignored;
 * empty lines are errors). Warns on `warn` when the file is readable by group or others.
 */
export function readPassphraseFile(path: string, warn: (line: string) => void): string[] {
  let text: string;
  try {
    if (statSync(path).size > MAX_PASSPHRASE_FILE_BYTES)
      throw new PassphraseInputError(`passphrase file ${path} is too large`);
    if ((statSync(path).mode & 0o077) !== 0)
      warn(`warning: passphrase file ${path} is readable by other users; use mode 0600`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof PassphraseInputError) throw e;
    throw new PassphraseInputError(`cannot read passphrase file ${path}`);
  }
  const lines = text.replace(/\r/g, '').replace(/\n$/, '').split('\n');
  if (lines.some((l) => l.length === 0))
    throw new PassphraseInputError(`passphrase file ${path} has an empty line`);
  return lines;
}

/**
 * The passphrase file a command reads its own passphrase(s) from: --passphrase-file, else
 * $CUSTOS_PASSPHRASE_FILE (an empty value counts as unset), else none (typed on the
 * terminal). One rule for every command that asks for a passphrase, device and officer
 * alike, so automation that sets the variable never meets a prompt it cannot answer.
 */
export function passphraseFilePath(
  flags: ParsedFlags,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return optionalString(flags, 'passphrase-file') ?? (env[PASSPHRASE_FILE_ENV] || undefined);
}

/** Reads one line from the terminal without echo. */
export function promptHidden(prompt: string, stderr: NodeJS.WritableStream): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    return Promise.reject(
      new PassphraseInputError('no terminal to type passphrases on: use --passphrase-file'),
    );
  }
  stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (err?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      stderr.write('\n');
      if (err === undefined) resolve(value);
      else reject(err);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === CTRL_C || ch === CTRL_D) return done(new PassphraseInputError('cancelled'));
        if (BACKSPACE.includes(ch)) value = [...value].slice(0, -1).join('');
        else value += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/** Asks for a new passphrase twice until both entries match (at most three tries). */
export async function promptNewPassphrase(
  who: string,
  stderr: NodeJS.WritableStream,
  minLength: number,
): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const first = await promptHidden(`${who}: new passphrase (at least ${minLength} characters): `, stderr);
    if ([...first.normalize('NFKC')].length < minLength) {
      stderr.write(`too short: at least ${minLength} characters\n`);
      continue;
    }
    const second = await promptHidden(`${who}: type it again: `, stderr);
    if (first === second) return first;
    stderr.write('the two entries differ; try again\n');
  }
  throw new PassphraseInputError(`${who}: no matching passphrase after three tries`);
}
