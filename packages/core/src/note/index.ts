/** Public surface of core/note (filled in by its implementation). */
export {};
