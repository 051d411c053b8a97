/** Test support for the CLI's unit tests: the profile's encrypted settings, in memory. */
import type { LocalSettings } from '@custos/client';

/** An in-memory stand-in for the encrypted settings (values copied in, as the store does). */
export function memorySettings(): LocalSettings {
  const m = new Map<string, unknown>();
  return {
    get: (k: string) => m.get(k),
    set: (k: string, v: unknown) => void m.set(k, structuredClone(v)),
    delete: (k: string) => m.delete(k),
  } as unknown as LocalSettings;
}
