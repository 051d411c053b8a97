/**
 * PostgreSQL through a `pg` Pool behind the SqlDatabase interface. BIGINT columns come
 * back as numbers (refusing values beyond 2^53), BYTEA as Buffers.
 */
import pg from 'pg';
import { PG_POOL_MAX } from '../../config/defaults.js';
import { renderNumbered, type SqlDatabase, type SqlExecutor, type SqlQuery } from '../sql.js';

const INT8_OID = 20;

/** Parses BIGINT text, refusing values a JavaScript number cannot hold exactly. */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError('a BIGINT column holds a value beyond 2^53');
  return n;
}

const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (text: string) => unknown {
    if (oid === INT8_OID) return parseInt8;
    return pg.types.getTypeParser(oid, format ?? 'text') as (text: string) => unknown;
  },
};

interface Queryable {
  query(config: {
    text: string;
    values: unknown[];
    name?: string;
    rowMode?: 'array';
  }): Promise<{ rows: unknown[]; rowCount: number | null }>;
  query(text: string, values: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** The `pg` query config of a query: named ones are prepared once per connection. */
function configOf(query: SqlQuery): { text: string; values: unknown[]; name?: string } {
  const text = renderNumbered(query);
  return query.name === undefined
    ? { text, values: [...query.values] }
    : { text, values: [...query.values], name: query.name };
}

class PgExecutor implements SqlExecutor {
  readonly dialect = 'postgres' as const;

  constructor(private readonly client: Queryable) {}

  async all<R extends object>(query: SqlQuery): Promise<R[]> {
    const res = await this.client.query(configOf(query));
    return res.rows as R[];
  }

  async rows(query: SqlQuery): Promise<unknown[][]> {
    const res = await this.client.query({ ...configOf(query), rowMode: 'array' });
    return res.rows as unknown[][];
  }

  async get<R extends object>(query: SqlQuery): Promise<R | undefined> {
    const rows = await this.all<R>(query);
    return rows[0];
  }

  async run(query: SqlQuery): Promise<number> {
    const res = await this.client.query(configOf(query));
    return res.rowCount ?? 0;
  }

  async exec(ddl: string): Promise<void> {
    await this.client.query(ddl, []);
  }
}

class PgDatabase extends PgExecutor implements SqlDatabase {
  constructor(private readonly pool: pg.Pool) {
    super(pool);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, onCommitted?: () => void): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      let result: T;
      try {
        result = await fn(new PgExecutor(client));
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw e;
      }
      // COMMIT returned: committed and (synchronous_commit) durable.
      onCommitted?.();
      return result;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Opens a pool on the given connection URL. Connection errors surface on the first query. */
export function openPgDatabase(url: string): SqlDatabase {
  const pool = new pg.Pool({ connectionString: url, max: PG_POOL_MAX, types: typeParsers });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  return new PgDatabase(pool);
}
