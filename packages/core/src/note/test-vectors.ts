/**
 * Types and small helpers for this module's JSON fixtures (test-only). The tests read the
 * files themselves: core's non-test code does no I/O.
 */

/** One case of fixtures/signed-notes.json. */
export interface SignedNoteCase {
  readonly name: string;
  readonly source: string;
  readonly note: string;
  readonly verifierKeys: readonly string[];
  readonly expect: boolean;
  readonly expectVerifiedBy?: readonly string[];
  readonly cosignature?: {
    readonly type: number;
    readonly timestamp: number;
    readonly signedMessage: string;
  };
}

/** fixtures/signed-notes.json. */
export interface SignedNoteVectors {
  readonly keyMaterialNotes: Record<string, string>;
  readonly cases: readonly SignedNoteCase[];
}

/** fixtures/tessera-testdata-log.json (the parts these tests use). */
export interface TesseraLog {
  readonly origin: string;
  readonly verifierKey: string;
  readonly provenance: { readonly note: string };
  readonly entries: readonly { readonly hex: string; readonly leafHash: string }[];
  readonly checkpoints: readonly {
    readonly treeSize: number;
    readonly root: string;
    readonly checkpoint: string;
  }[];
  readonly inclusionProofs: readonly {
    readonly leafIndex: number;
    readonly treeSize: number;
    readonly leafHash: string;
    readonly root: string;
    readonly proof: readonly string[];
  }[];
}

/** URL of a fixture file, for the tests to read. */
export function fixtureUrl(file: 'signed-notes.json' | 'tessera-testdata-log.json'): URL {
  return new URL(`./fixtures/${file}`, import.meta.url);
}

/** Hex to bytes. */
export function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** Bytes to hex. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** The Tessera test signer key, pulled out of the provenance note. */
export function tesseraSignerKey(log: TesseraLog): string {
  const m = /PRIVATE\+KEY\+\S+/.exec(log.provenance.note);
  if (m === null) throw new Error('no signer key in provenance note');
  return m[0];
}
