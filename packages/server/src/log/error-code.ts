/**
 * What a log line may say about a failure: a short code, never a message. Messages can quote
 * SQL values, paths or request content; codes cannot (threat model F8). The code tells an
 * operator which kind of failure it was — `SQLITE_BUSY`, a PostgreSQL SQLSTATE such as `40001`,
 * `ENOENT`, a Custos error code — or, failing that, the error's class name.
 */

/** Codes and class names are short identifiers; anything else is reported as `unknown`. */
const SAFE_CODE = /^[A-Za-z0-9_.-]{1,48}$/;

/** A loggable code for `e` (see the module comment); never its message. */
export function errorCode(e: unknown): string {
  if (typeof e !== 'object' || e === null) return 'unknown';
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && SAFE_CODE.test(code)) return code;
  const name = (e as { name?: unknown }).name;
  if (typeof name === 'string' && SAFE_CODE.test(name)) return name;
  return 'unknown';
}
