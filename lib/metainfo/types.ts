/** One file of a torrent, placed in the torrent's concatenated byte stream (BEP 3). */
export interface TorrentFile {
  /**
   * Path components as the torrent gives them (name.utf-8 / path.utf-8 preferred), the torrent
   * name first: `[name]` for a single file, `[name, ...path]` in a multi-file torrent. Untrusted.
   */
  readonly rawPath: readonly string[]
  /**
   * A relative, '/'-separated path that is safe to join under an output directory (see
   * lib/metainfo/safe-path): no `..`, no absolute path, unique among the torrent's files.
   */
  readonly path: string
  readonly length: number
  /** Byte offset of the file's first byte in the torrent's byte stream. */
  readonly offset: number
  /** BEP 47 padding file: occupies the byte stream, never written to disk or stdout. */
  readonly padding: boolean
}

/** Which metadata versions a torrent carries (BEP 52). */
export type MetaVersion = 'v1' | 'hybrid' | 'v2'

/** A parsed v1 (or hybrid) torrent: everything a client needs to download it. */
export interface Metainfo {
  /** SHA-1 of the exact bytes of the bencoded `info` value as they stand in the file. */
  readonly infoHash: Uint8Array
  readonly infoHashHex: string
  /** The exact bytes of the `info` value (served to peers by BEP 9). */
  readonly infoBytes: Uint8Array
  readonly name: string
  readonly pieceLength: number
  readonly pieceCount: number
  /** Concatenated 20-byte SHA-1 digests, one per piece. */
  readonly pieceHashes: Uint8Array
  readonly length: number
  readonly lastPieceLength: number
  readonly files: readonly TorrentFile[]
  /** True when the info dict has `files` (a directory torrent), even with a single entry. */
  readonly multiFile: boolean
  /** Announce tiers (BEP 12); `announce` alone becomes a single tier. */
  readonly announce: readonly (readonly string[])[]
  /** Web seeds (BEP 19). */
  readonly urlList: readonly string[]
  /** BEP 27: trackers only, no DHT/PEX. */
  readonly private: boolean
  readonly version: MetaVersion
  readonly comment?: string
  readonly createdBy?: string
  readonly creationDate?: number
}
