/** ProgressLine: silent when stderr is not a terminal; on a terminal, one line redrawn in place and cleared. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProgressLine } from './progress-bar.js';

function stream(tty: boolean, columns = 60): { out: NodeJS.WritableStream; text: () => string } {
  const s = new PassThrough();
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString()));
  Object.assign(s, { isTTY: tty, columns });
  return { out: s, text: () => text };
}

describe('ProgressLine', () => {
  it('writes nothing when the stream is not a terminal', async () => {
    const s = stream(false);
    const p = new ProgressLine(s.out);
    p.update('fetched 3', 3, undefined, true);
    p.update('written', 5, 10, true);
    p.done();
    await new Promise((r) => setImmediate(r));
    expect(p.enabled).toBe(false);
    expect(s.text()).toBe('');
  });

  it('draws a bar in place on a terminal and clears the line at the end', async () => {
    const s = stream(true);
    const p = new ProgressLine(s.out);
    p.update('written', 5, 10, true);
    p.update('written', 10, 10, true);
    p.done();
    await new Promise((r) => setImmediate(r));
    const t = s.text();
    expect(t).toContain('\r\u001b[2K[############............] written 5/10');
    expect(t).toContain('[########################] written 10/10');
    expect(t.endsWith('\r\u001b[2K')).toBe(true);
    expect(t).not.toContain('\n');
  });

  it('assumes 80 columns on a terminal that reports none (an unsized pseudo-terminal says 0)', async () => {
    const s = stream(true, 0);
    const p = new ProgressLine(s.out);
    p.update('checked', 1234, 1234, true);
    await new Promise((r) => setImmediate(r));
    expect(s.text()).toContain('[########################] checked 1234/1234');
  });
});
