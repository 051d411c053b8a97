/** Public surface of core/blind-index (filled in by its implementation). */
export {};
