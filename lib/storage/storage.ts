/**
 * The storage interface: where verified pieces go and where a seeder reads them back. Kept small
 * (rqbit-style) so layers wrap it: a slow disk, injected faults, an in-memory store for tests and
 * benchmarks. Implementations: FileStorage (the torrent's files on disk), MemoryStorage.
 */
export interface Storage {
  /**
   * Stores a whole verified piece at its place in the torrent's byte stream. Resolves once the
   * bytes are handed to the OS; rejects with a StorageError.
   */
  write (index: number, data: Uint8Array): Promise<void>
  /** `length` bytes of piece `index` from `begin` (a peer's request, BEP 3 `request`). */
  read (index: number, begin: number, length: number): Promise<Uint8Array>
  /** Flushes and releases everything; the storage is unusable afterwards. Idempotent. */
  close (): Promise<void>
}

/** Throws a RangeError unless [begin, begin + length) lies within a piece of `pieceLength` bytes. */
export function checkRange (index: number, begin: number, length: number, pieceLength: number): void {
  if (!Number.isInteger(begin) || !Number.isInteger(length) || begin < 0 || length < 0 || begin + length > pieceLength) {
    throw new RangeError(`read of piece ${index} at ${begin}+${length} is outside its ${pieceLength} bytes`)
  }
}
