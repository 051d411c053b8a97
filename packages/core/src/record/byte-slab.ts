/**
 * Small byte arrays carved out of shared slabs, for the per-record outputs of the hot paths
 * (header copies of an opened record, record hashes).
 *
 * Why: every `new Uint8Array(n)` is a typed array, an ArrayBuffer object and its bytes, and
 * node's Buffer pool adds a Buffer view on top; at 100,000 records/s these objects are what
 * fills the young generation and sets the scavenge rate (node --trace-gc on
 * bench/suites/record.ts). A view of a slab is one object. Like node's Buffer pool, a live
 * view keeps its whole slab alive; slabs are small (8 KiB) for that reason.
 *
 * Views never overlap and are never handed out twice, so callers own their bytes. Not
 * secret-safe: slabs are not wiped — never use them for key material.
 */

/** Bytes per slab (node's Buffer.poolSize, for the same retention trade-off). */
export const SLAB_BYTES = 8 * 1024;
/** Requests above this get their own ArrayBuffer instead of a slab slice. */
const MAX_SLAB_REQUEST = SLAB_BYTES / 4;
// Up to this many bytes a copy loop beats creating a source view for TypedArray#set.
const SHORT_COPY = 64;
// Slices start on 8-byte boundaries, like node's pool.
const ALIGN_MASK = 7;

/** Hands out non-overlapping views of shared slabs. */
export class ByteSlab {
  #slab = new ArrayBuffer(0);
  #at = 0;

  /** A fresh `n`-byte view (contents unspecified: the caller writes every byte). */
  take(n: number): Uint8Array {
    if (n > MAX_SLAB_REQUEST) return new Uint8Array(n);
    if (this.#at + n > this.#slab.byteLength) {
      this.#slab = new ArrayBuffer(SLAB_BYTES);
      this.#at = 0;
    }
    const v = new Uint8Array(this.#slab, this.#at, n);
    this.#at = (this.#at + n + ALIGN_MASK) & ~ALIGN_MASK;
    return v;
  }

  /** A copy of `src[start..end)` in a fresh view. */
  copyOf(src: Uint8Array, start: number, end: number): Uint8Array {
    const n = end - start;
    const v = this.take(n);
    if (n <= SHORT_COPY) for (let i = 0; i < n; i++) v[i] = src[start + i]!;
    else v.set(new Uint8Array(src.buffer, src.byteOffset + start, n));
    return v;
  }
}

/** Bytes per {@link RecordSlab} slab: one slab serves ~45 records of 1.4 KiB. */
export const RECORD_SLAB_BYTES = 64 * 1024;

/**
 * Record-sized Buffers carved from private 64 KiB slabs, for sealed records (one per seal).
 *
 * Why not `Buffer.allocUnsafe`: node's shared 8 KiB pool holds five 1.4 KiB records, so
 * sealing allocates a fresh pool ArrayBuffer every fifth record (`createPool` was ~3 % of
 * the seal profile). A live record keeps its slab alive (up to 64 KiB); sealed records are
 * copied into the queue and dropped, so few outlive their slab's neighbours for long.
 * Buffers (not plain views) because callers may treat a record's bytes as one. Not
 * secret-safe, like {@link ByteSlab}: records are ciphertext and public headers only.
 */
export class RecordSlab {
  #slab = new ArrayBuffer(0);
  #at = 0;

  /** A fresh `n`-byte Buffer (contents unspecified: the caller writes every byte). */
  take(n: number): Buffer {
    if (n > RECORD_SLAB_BYTES / 8) return Buffer.allocUnsafe(n);
    if (this.#at + n > this.#slab.byteLength) {
      this.#slab = new ArrayBuffer(RECORD_SLAB_BYTES);
      this.#at = 0;
    }
    const v = Buffer.from(this.#slab, this.#at, n);
    this.#at = (this.#at + n + ALIGN_MASK) & ~ALIGN_MASK;
    return v;
  }
}
