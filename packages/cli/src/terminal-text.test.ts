/** Peer and server text on the terminal: control characters shown, never executed; continuation lines indented. */
import { describe, expect, it } from 'vitest';
import { cli } from './testing/run-cli.js';
import { peerText, terminalSafe } from './terminal-text.js';

describe('terminal text', () => {
  it('shows C0, DEL, C1 and bidi controls as escapes, keeping tabs, newlines and ordinary text', () => {
    expect(terminalSafe('a\u001b[31mb\rc\u007f\u009b\u202ed\te\nf ünï 👍')).toBe(
      'a\\x1b[31mb\\x0dc\\x7f\\x9b\\u202ed\te\nf ünï 👍',
    );
  });

  it('indents every further line of peer text', () => {
    expect(peerText('one\ntwo\r\nthree')).toBe('one\n    two\\x0d\n    three');
  });

  it('keeps control sequences out of error lines too', async () => {
    // An argument echoed in an error (here an unknown option) cannot reach the terminal raw.
    const r = await cli(['send', '--\u001b]0;x\u0007']);
    expect(r.code).toBe(2);
    expect(r.err).not.toContain('\u001b');
    expect(r.err).toContain('\\x1b]0;x\\x07');
  });
});
