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

/** Builds a parameterised query from a template literal. */
export function sql(fragments: TemplateStringsArray, ...values: SqlValue[]): SqlQuery {
  return { fragments: [...fragments], values };
}

/** The two SQL dialects; stores branch on it only where the SQL differs. */
export type SqlDialect = 'sqlite' | 'postgres';

/** Runs queries on one connection or transaction. Rows come back with snake_case columns. */
export interface SqlExecutor {
  readonly dialect: SqlDialect;
  /** All rows of a query. */
  all<R extends object>(query: SqlQuery): Promise<R[]>;
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
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Waits for running work and closes the connection(s). */
  close(): Promise<void>;
}

/** Renders a query with `?` placeholders. */
export function renderQuestionMarks(query: SqlQuery): string {
  return query.fragments.join('?');
}

/** Renders a query with `$1, $2, …` placeholders. */
export function renderNumbered(query: SqlQuery): string {
  let out = query.fragments[0] ?? '';
  for (let i = 1; i < query.fragments.length; i++) out += `$${i}${query.fragments[i] ?? ''}`;
  return out;
}
