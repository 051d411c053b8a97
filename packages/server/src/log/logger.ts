/**
 * The server's only logger: one JSON line per event, with an allow-list of fields. Any
 * field not on the list is dropped before writing, so a body, header, token or key can
 * never reach a log by accident (threat model F8). Values are limited to short scalars.
 */
import type { LogLevel } from '../config/load-config.js';

/** Fields a log line may carry. Adding one is a security decision: it must never hold a secret or content. */
export const LOG_FIELDS = [
  'reqId',
  'method',
  'route',
  'status',
  'code',
  'durationMs',
  'orgId',
  'deviceId',
  'listen',
  'store',
  'version',
  'count',
  'signal',
] as const;
/** An allowed field name. */
export type LogField = (typeof LOG_FIELDS)[number];
/** Fields of one log line. */
export type LogFields = Partial<Record<LogField, string | number | boolean | null>>;

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const ALLOWED = new Set<string>(LOG_FIELDS);
/** Longest string value written; ids and route patterns are far shorter. */
const MAX_VALUE_LENGTH = 200;

/** Writes structured events. `event` is a fixed, code-chosen name such as `request` or `listening`. */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** Creates a logger writing JSON lines at or above `level` to `write`. */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void,
  now: () => number = Date.now,
): Logger {
  const min = LEVELS[level];
  const emit = (lvl: LogLevel, event: string, fields?: LogFields): void => {
    if (LEVELS[lvl] < min) return;
    const line: Record<string, unknown> = { time: new Date(now()).toISOString(), level: lvl, event };
    if (fields !== undefined) {
      for (const [k, v] of Object.entries(fields)) {
        if (!ALLOWED.has(k)) continue; // defence in depth: the type already forbids it
        if (typeof v === 'string') line[k] = v.slice(0, MAX_VALUE_LENGTH);
        else if (typeof v === 'number' || typeof v === 'boolean' || v === null) line[k] = v;
      }
    }
    write(`${JSON.stringify(line)}\n`);
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
  };
}

/** A logger that writes nothing (tests). */
export const silentLogger: Logger = createLogger('error', () => undefined);
