/**
 * A one-line progress display on stderr for long commands (`custos console export`): drawn
 * in place with a carriage return when stderr is a terminal, and not at all otherwise, so
 * logs and pipes get no control characters. Redraws are throttled; `done` ends the line.
 */

/** Least time between two redraws. */
const REDRAW_MS = 100;
/** Columns assumed when the terminal does not say. */
const DEFAULT_COLUMNS = 80;
/** Width of the bar in characters. */
const BAR_WIDTH = 24;

/** A stream that may be a terminal. */
type MaybeTty = NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };

/** Progress on one line; inert when the stream is not a TTY. */
export class ProgressLine {
  readonly #out: MaybeTty;
  readonly #enabled: boolean;
  #last = 0;
  #drawn = false;

  constructor(out: NodeJS.WritableStream) {
    this.#out = out;
    this.#enabled = this.#out.isTTY === true;
  }

  /** Whether anything is drawn at all. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Shows `label` with a bar when `total` is known (`done` of `total`), or a count otherwise. */
  update(label: string, done: number, total?: number, force = false): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (!force && now - this.#last < REDRAW_MS) return;
    this.#last = now;
    let text = label;
    if (total !== undefined && total > 0) {
      const filled = Math.round((BAR_WIDTH * Math.min(done, total)) / total);
      text = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${label} ${done}/${total}`;
    }
    // A terminal of unknown size (a pseudo-terminal nobody sized reports 0 columns) gets 80.
    const columns = this.#out.columns ?? 0;
    const width = Math.max(20, (columns > 0 ? columns : DEFAULT_COLUMNS) - 1);
    this.#out.write(`\r\u001b[2K${text.slice(0, width)}`);
    this.#drawn = true;
  }

  /** Ends the progress line (the next output starts on a fresh line). */
  done(): void {
    if (this.#enabled && this.#drawn) this.#out.write('\r\u001b[2K');
    this.#drawn = false;
  }
}
