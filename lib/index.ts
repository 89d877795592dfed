/**
 * bt-stream's public API. Metainfo (.torrent) and magnet parsing, piece geometry, and the safe
 * bencode decoder they are built on.
 */
export { parseTorrent, parseInfoDict, MAX_PIECE_LENGTH, type MetainfoExtras } from './metainfo/parse.js'
export type { Metainfo, TorrentFile, MetaVersion } from './metainfo/types.js'
export {
  pieceLengthAt, pieceHash, pieceOffset, piecesForFile, piecesForRange, filesInRange, filesInPiece,
  type PieceSpan, type FileSlice
} from './metainfo/geometry.js'
export { safeComponent, safeRelativePath } from './metainfo/safe-path.js'
export { parseMagnet, type Magnet } from './magnet/parse.js'
export { decodeBencode, decodeBencodePrefix, type BencodeValue, type BencodeDict } from './bencode/decode.js'
export { humanSize } from './util/format.js'
export {
  BtStreamError, MetainfoError, MagnetError, BencodeError, UsageError, ProtocolError, TrackerError,
  DownloadError, StorageError
} from './util/errors.js'
export { createTorrent, autoPieceLength, type CreateOptions, type CreatedTorrent } from './metainfo/create.js'
export type { Storage } from './storage/storage.js'
export { FileStorage, type FileStorageOptions } from './storage/file-storage.js'
export { MemoryStorage } from './storage/memory-storage.js'
export { SlowStorage, type SlowOptions } from './storage/slow-storage.js'
export { FaultyStorage, type FaultOptions } from './storage/faulty-storage.js'
export { DiskSink, createDiskSink, type DiskSinkOptions } from './storage/disk-sink.js'
export { checkExisting, type CheckProgress, type CheckOptions } from './storage/check-existing.js'
export { Bitfield } from './storage/bitfield.js'
