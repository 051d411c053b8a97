/**
 * SQL through parameter binding only: the `sql` tag keeps text and values apart, and
 * each backend renders the placeholders (`?` for SQLite, `$n` for PostgreSQL). There is
 * no way to splice a value into SQL text.
 */

/** Values a query may bind. Booleans are deliberately absent (SQLite has none): use 0/1. */
export type SqlValue = string | number | bigint | Buffer | null;

/** A parameterised query: text fragments with one value between each pair. */
export interface SqlQuery {
  readonly fragments: readonly string[];
  readonly values: readonly SqlValue[];
  /** PostgreSQL: a prepared-statement name (parsed and planned once per connection; text must be fixed). */
  readonly name?: string;
}

/**
 * Builds a parameterised query from a template literal. Its fragments are the literal's own
 * strings array: frozen, and the same object every time that line runs, so a backend can
 * keep the rendered text by identity ({@link renderedText}).
 */
export function sql(fragments: TemplateStringsArray, ...values: SqlValue[]): SqlQuery {
  return { fragments, values };
}

/** The two SQL dialects; stores branch on it only where the SQL differs. */
export type SqlDialect = 'sqlite' | 'postgres';

/** Runs queries on one connection or transaction. Rows come back with snake_case columns. */
export interface SqlExecutor {
  readonly dialect: SqlDialect;
  /** All rows of a query. */
  all<R extends object>(query: SqlQuery): Promise<R[]>;
  /**
   * All rows of a query as arrays of column values in select order: no object (nor column
   * name) per row, which on SQLite costs more than the values of a page of small columns.
   */
  rows(query: SqlQuery): Promise<unknown[][]>;
  /** The first row, or undefined. */
  get<R extends object>(query: SqlQuery): Promise<R | undefined>;
  /** Runs a statement; resolves to the number of rows changed. */
  run(query: SqlQuery): Promise<number>;
  /** Runs DDL text with no parameters (migrations only). */
  exec(ddl: string): Promise<void>;
}

/** A database: an executor plus transactions and closing. */
export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws.
   * Queries on `tx` are inside the transaction; nothing else interleaves with them.
   * `onCommitted` runs once the COMMIT has succeeded, before the returned promise resolves
   * (see Stores.withTransaction); it must not throw.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, onCommitted?: () => void): Promise<T>;
  /**
   * Reads of the latest committed state that wait neither behind queued work nor for that
   * state's durability (SQLite: a second, read-only connection on the WAL; absent where the
   * plain executor already is that, as on PostgreSQL). Only for checks acted on
   * conservatively — a revocation re-check — never for anything shown or acknowledged.
   */
  readonly committedReads?: SqlExecutor;
  /** Waits for running work and closes the connection(s). */
  close(): Promise<void>;
}

/** `a` then `b` as one query: texts concatenated, values in order (no name: the caller sets one). */
export function concatSql(a: SqlQuery, b: SqlQuery): SqlQuery {
  const fragments = [...a.fragments];
  fragments[fragments.length - 1] += b.fragments[0] ?? '';
  return { fragments: [...fragments, ...b.fragments.slice(1)], values: [...a.values, ...b.values] };
}

/** Renders a query with `?` placeholders. */
export function renderQuestionMarks(query: SqlQuery): string {
  return renderedText(query, questionMarks, joinQuestionMarks);
}

/** Renders a query with `$1, $2, …` placeholders. */
export function renderNumbered(query: SqlQuery): string {
  return renderedText(query, numbered, joinNumbered);
}

const questionMarks = new WeakMap<readonly string[], string>();
const numbered = new WeakMap<readonly string[], string>();

function joinQuestionMarks(fragments: readonly string[]): string {
  return fragments.join('?');
}

function joinNumbered(fragments: readonly string[]): string {
  let out = fragments[0] ?? '';
  for (let i = 1; i < fragments.length; i++) out += `$${i}${fragments[i] ?? ''}`;
  return out;
}

/**
 * The text of `query` as `render` makes it, kept per fragments array when that array is
 * frozen (template literals, and the shapes `inList` and `multiRowShape` keep): it cannot
 * change, and the same string object each time also keeps its hash for the statement
 * cache's lookup. The relay's multi-row inserts and IN lists are kilobytes of text.
 */
function renderedText(
  query: SqlQuery,
  cache: WeakMap<readonly string[], string>,
  render: (fragments: readonly string[]) => string,
): string {
  const f = query.fragments;
  if (!Object.isFrozen(f)) return render(f);
  let text = cache.get(f);
  if (text === undefined) {
    text = render(f);
    cache.set(f, text);
  }
  return text;
}

/**
 * Values per `IN (…)` list, smallest first. A list is padded up to one of these lengths by
 * repeating its last value (harmless in an IN list), so each query has a handful of texts —
 * SQLite caches one prepared statement per text — and takes one statement per 256 values.
 * 128 is there for pages of search hits (100 or 101 ids), which 256 would more than double.
 */
export const IN_LIST_SIZES = [1, 4, 16, 64, 128, 256] as const;
const LARGEST_IN_LIST = 256;

/** The fragments of `query IN (…)` per list length and tail, for frozen query fragments. */
const inListShapes = new WeakMap<readonly string[], Map<string, readonly string[]>>();

/** `query` followed by ` (?, …)` binding `list` (not empty), then `tail`. */
export function inList(query: SqlQuery, list: readonly SqlValue[], tail = ''): SqlQuery {
  if (list.length === 0) throw new Error('an IN list needs at least one value');
  const build = (): string[] => {
    const fragments = [...query.fragments];
    fragments[fragments.length - 1] += ' (';
    for (let i = 1; i < list.length; i++) fragments.push(', ');
    fragments.push(`)${tail}`);
    return fragments;
  };
  const values = [...query.values, ...list];
  if (!Object.isFrozen(query.fragments)) return { fragments: build(), values };
  // A template's IN lists come in a few lengths (IN_LIST_SIZES): each shape is made once.
  let shapes = inListShapes.get(query.fragments);
  if (shapes === undefined) {
    shapes = new Map();
    inListShapes.set(query.fragments, shapes);
  }
  const key = `${list.length}|${tail}`;
  let fragments = shapes.get(key);
  if (fragments === undefined) {
    fragments = Object.freeze(build());
    shapes.set(key, fragments);
  }
  return { fragments, values };
}

/** A value's identity for de-duplication (Buffers by content). */
const identity = (v: SqlValue): string =>
  Buffer.isBuffer(v) ? `b${v.toString('hex')}` : `${typeof v}${String(v)}`;

/**
 * `values` without duplicates in lists of {@link IN_LIST_SIZES} lengths (the last one padded
 * with its last value), each ready for {@link inList}. Empty for no values.
 */
export function inListChunks(values: readonly SqlValue[]): SqlValue[][] {
  const seen = new Set<string>();
  const unique = values.filter((v) => {
    const k = identity(v);
    return seen.has(k) ? false : (seen.add(k), true);
  });
  const out: SqlValue[][] = [];
  for (let i = 0; i < unique.length; i += LARGEST_IN_LIST) {
    const part = unique.slice(i, i + LARGEST_IN_LIST);
    const size = IN_LIST_SIZES.find((s) => s >= part.length) ?? LARGEST_IN_LIST;
    while (part.length < size) part.push(part[part.length - 1]!);
    out.push(part);
  }
  return out;
}

/** The rows of `query IN (…) tail` over `values` (de-duplicated, in IN_LIST_SIZES lists), concatenated. */
export async function allIn<R extends object>(
  db: SqlExecutor,
  query: SqlQuery,
  values: readonly SqlValue[],
  tail = '',
): Promise<R[]> {
  const out: R[] = [];
  for (const part of inListChunks(values)) {
    for (const r of await db.all<R>(inList(query, part, tail))) out.push(r);
  }
  return out;
}

/** {@link allIn} with rows as arrays of column values ({@link SqlExecutor.rows}). */
export async function rowsIn(
  db: SqlExecutor,
  query: SqlQuery,
  values: readonly SqlValue[],
  tail = '',
): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for (const part of inListChunks(values)) {
    for (const r of await db.rows(inList(query, part, tail))) out.push(r);
  }
  return out;
}
