/**
 * Stored rows are checked on the way out like any other input (style.md §6): a row of the
 * wrong shape is a corrupted store, reported as such, never passed on silently.
 */
import {
  RETENTION_CLASSES,
  RETENTION_SOURCES,
  ROLES,
  type RetentionClass,
  type RetentionSource,
  type Role,
} from './records.js';

/** Thrown when a stored row does not have the shape the schema promises. */
export class CorruptRowError extends Error {
  override readonly name = 'CorruptRowError';
}

/** A TEXT column. */
export function text(v: unknown): string {
  if (typeof v !== 'string') throw new CorruptRowError('expected a text column');
  return v;
}

/** An integer column (BIGINT arrives as a number, COUNT(*) may arrive as bigint). */
export function int(v: unknown): number {
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return int(Number(v));
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw new CorruptRowError('expected an integer column');
  return v;
}

/** A nullable integer column. */
export function intOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : int(v);
}

/** A BLOB/BYTEA column. */
export function bytes(v: unknown): Buffer {
  if (!Buffer.isBuffer(v)) throw new CorruptRowError('expected a bytes column');
  return v;
}

/** A role column. */
export function asRole(v: unknown): Role {
  const s = text(v);
  if (!(ROLES as readonly string[]).includes(s)) throw new CorruptRowError('unknown role in store');
  return s as Role;
}

/** A retention-class column. */
export function asRetentionClass(v: unknown): RetentionClass {
  const s = text(v);
  if (!(RETENTION_CLASSES as readonly string[]).includes(s))
    throw new CorruptRowError('unknown retention class');
  return s as RetentionClass;
}

/** An archive-policy column. */
export function asArchivePolicy(v: unknown): 'required' | 'none' {
  const s = text(v);
  if (s !== 'required' && s !== 'none') throw new CorruptRowError('unknown archive policy');
  return s;
}

/** A retention-source column. */
export function asRetentionSource(v: unknown): RetentionSource {
  const s = text(v);
  if (!(RETENTION_SOURCES as readonly string[]).includes(s))
    throw new CorruptRowError('unknown retention source');
  return s as RetentionSource;
}
