/**
 * Numbered schema migrations. Each runs once, in its own transaction, and is recorded in
 * `schema_migrations`; on PostgreSQL an advisory lock keeps API nodes that start together
 * from racing.
 */
import { sql, type SqlDatabase } from './sql.js';

/** One numbered migration. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** DDL, no parameters. */
  readonly up: string;
}

/** Arbitrary constant naming the migration advisory lock on PostgreSQL. */
const PG_MIGRATION_LOCK = 0x637573746f73; // "custos"

/** Applies every migration above the recorded version, up to `upTo` (default: all). Resolves to the versions applied. */
export async function migrate(
  db: SqlDatabase,
  migrations: readonly Migration[],
  upTo?: number,
): Promise<number[]> {
  for (let i = 0; i < migrations.length; i++) {
    if (migrations[i]?.version !== i + 1)
      throw new Error(`migration list is not numbered 1..n at index ${i}`);
  }
  await db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
  );
  const applied: number[] = [];
  for (const m of migrations) {
    if (upTo !== undefined && m.version > upTo) break;
    const done = await db.transaction(async (tx) => {
      if (tx.dialect === 'postgres') await tx.get(sql`SELECT pg_advisory_xact_lock(${PG_MIGRATION_LOCK})`);
      const row = await tx.get(sql`SELECT version FROM schema_migrations WHERE version = ${m.version}`);
      if (row !== undefined) return false;
      await tx.exec(m.up);
      await tx.run(
        sql`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${m.version}, ${m.name}, ${Date.now()})`,
      );
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}

/** The highest applied version (0 for an empty database). */
export async function schemaVersion(db: SqlDatabase): Promise<number> {
  const row = await db.get<{ v: number | null }>(sql`SELECT MAX(version) AS v FROM schema_migrations`);
  return row?.v ?? 0;
}
