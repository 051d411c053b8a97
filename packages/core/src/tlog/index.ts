/** Public surface of core/tlog (filled in by its implementation). */
export {};
