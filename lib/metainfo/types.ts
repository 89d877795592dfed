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
  /**
   * BEP 52 (hybrid and v2 torrents): the root of the file's merkle tree of 16 KiB blocks
   * (SHA-256, 32 bytes). Undefined for empty files, padding files and v1 torrents.
   */
  readonly piecesRoot?: Uint8Array
}

/**
 * One file of a v2 (or hybrid) torrent in BEP 52's piece address space: every non-empty file
 * starts on a piece boundary, so each piece belongs to exactly one file and is verified against
 * that file's merkle tree.
 */
export interface V2File {
  /** Index into Metainfo.files. */
  readonly fileIndex: number
  readonly path: string
  readonly length: number
  /** Undefined for an empty file. */
  readonly piecesRoot: Uint8Array | undefined
  /** Global index of the file's first piece (its byte offset / piece length). */
  readonly firstPiece: number
  /** Pieces the file spans: ceil(length / piece length); 0 for an empty file. */
  readonly pieceCount: number
}

/** BEP 52: whether every file longer than one piece has its piece layer (see piece-layers.ts). */
export type PieceLayersStatus = 'complete' | 'missing'

/** Which metadata versions a torrent carries (BEP 52). */
export type MetaVersion = 'v1' | 'hybrid' | 'v2'

/**
 * A parsed torrent: everything a client needs to download it. v1 fields are always there; the
 * BEP 52 fields (`infoHashV2`, `v2Files`, `pieceLayers`, `TorrentFile.piecesRoot`) only for
 * hybrid and v2-only torrents.
 *
 * v2-only torrents (version 'v2') carry no SHA-1 piece hashes: `pieceHashes` is empty, `infoHash`
 * is the truncated v2 hash, and the files are laid out in BEP 52's piece address space (a padding
 * entry between files, none after the last, so `lastPieceLength` is the last file's real last
 * piece). parseTorrent refuses them unless asked (`allowV2Only`) so the v1 engine never gets one.
 */
export interface Metainfo {
  /**
   * The 20-byte swarm id used in handshakes and tracker announces: the SHA-1 of the exact bytes of
   * the bencoded `info` value for v1 and hybrid torrents; for v2-only torrents the SHA-256 of
   * those bytes truncated to 20 bytes (BEP 52 "infohash").
   */
  readonly infoHash: Uint8Array
  readonly infoHashHex: string
  /** BEP 52, hybrid and v2: SHA-256 of the exact bytes of the `info` value (32 bytes). */
  readonly infoHashV2?: Uint8Array
  readonly infoHashV2Hex?: string
  /** BEP 52, hybrid and v2: the files in tree order with their piece ranges (no padding). */
  readonly v2Files?: readonly V2File[]
  /**
   * BEP 52, hybrid and v2: verified piece layers, keyed by pieces root (hex), as concatenated
   * 32-byte hashes. Only files longer than one piece have one.
   */
  readonly pieceLayers?: ReadonlyMap<string, Uint8Array>
  /** 'missing' when the info dict came alone (a magnet) or the .torrent had no `piece layers`. */
  readonly pieceLayersStatus?: PieceLayersStatus
  /** The exact bytes of the `info` value (served to peers by BEP 9). */
  readonly infoBytes: Uint8Array
  readonly name: string
  readonly pieceLength: number
  readonly pieceCount: number
  /** Concatenated 20-byte SHA-1 digests, one per piece (empty for v2-only torrents). */
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
