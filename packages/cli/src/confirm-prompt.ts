/**
 * A yes/no question before a command does something it cannot undo (`custos pending
 * --discard`). Asked only on a terminal: with no one to answer (a script, a pipe) the command
 * fails and names the flag that skips the question, rather than reading a `y` it was never
 * shown or taking silence for consent.
 */
import { createInterface } from 'node:readline';
import { CliFailure } from './command-runner.js';
import { terminalSafe } from './terminal-text.js';

/** Where the answer is read: a terminal's input (`isTTY`), or anything else (refused). */
export type AnswerInput = NodeJS.ReadableStream & { readonly isTTY?: boolean };

/** True for the answers that mean yes: `y` or `yes`, in any case, spaces around ignored. */
export function isYes(answer: string): boolean {
  return /^y(es)?$/i.test(answer.trim());
}

/**
 * Writes `question` on `output` (stderr: stdout carries results and --json) and reads one line
 * from `input`; resolves true only for a yes (an empty line, anything else and the end of
 * input are no). Fails CONFIRMATION_NEEDED, naming `skipFlag`, when `input` is no terminal.
 */
export function confirm(
  question: string,
  input: AnswerInput,
  output: NodeJS.WritableStream,
  skipFlag: string,
): Promise<boolean> {
  if (input.isTTY !== true)
    return Promise.reject(
      new CliFailure(
        'CONFIRMATION_NEEDED',
        `no terminal to ask on: run it on a terminal to be asked, or add ${skipFlag} to go ahead without asking`,
      ),
    );
  output.write(terminalSafe(question));
  return new Promise((resolve) => {
    const rl = createInterface({ input, terminal: false });
    let answer: string | undefined;
    rl.once('line', (line) => {
      answer = line;
      rl.close();
    });
    // close() pauses the input, so the process is not held open by it.
    rl.once('close', () => resolve(answer !== undefined && isYes(answer)));
  });
}
