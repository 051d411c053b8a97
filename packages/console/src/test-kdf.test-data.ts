/** Weak scrypt settings for unit tests only: production code never passes these. */
export const TEST_KDF = { allowWeakKdfForTests: true, kdf: { N: 2 ** 4, r: 8, p: 1 } } as const;
/** A passphrase long enough to be accepted. */
export const PASS = 'correct horse battery staple';
