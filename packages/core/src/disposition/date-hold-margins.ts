/**
 * How far a date hold reaches beyond its days, in the records' received time (docs/officers.md
 * "Legal holds"). The server holds by these margins and the officer's console checks a
 * disposition plan's held counts by the same ones, so both read one definition.
 */

/** Received-time margin before a date hold's start (device clocks and time zones). */
export const DATE_HOLD_LEAD_MS = 24 * 60 * 60 * 1000;
/** Received-time margin after a date hold's end (records sent in range, uploaded late). */
export const DATE_HOLD_LATE_UPLOAD_MS = 30 * 24 * 60 * 60 * 1000;
