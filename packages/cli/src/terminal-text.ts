/**
 * Text from other people on the terminal. Message text, display names, file names, group
 * names and emoji come from peers (and record text, matter names and error details from
 * devices and the server): printed as they are, a control sequence in them is executed by
 * the terminal — `ESC [2J` clears it, `OSC 0` retitles it, `\r` and cursor moves overwrite
 * lines — and a newline followed by `[time] carol → you: …` shows a line that seems to come
 * from someone else. So every line a command prints goes through {@link terminalSafe}, and
 * peer text placed inside a line goes through {@link peerText} first.
 */

/**
 * C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides and
 * isolates (which reorder what follows them on screen).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Each unsafe character as visible text (`\x1b`, `\u202e`): shown, never executed. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    const code = ch.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Indent of the continuation lines of multi-line peer text. */
const CONTINUATION = '\n    ';

/**
 * Peer text for use inside one output line: unsafe characters shown (terminalSafe), and each
 * further line of it indented, so no line of it starts where a line of ours does.
 */
export function peerText(text: string): string {
  return terminalSafe(text).replace(/\r?\n/g, CONTINUATION);
}
