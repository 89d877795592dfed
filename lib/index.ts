/**
 * bt-stream's public API: `download()` (a torrent as a Readable of its bytes), and each part on its
 * own: metainfo and magnets, the peer wire, trackers, the swarm engine, pieces, output streams.
 */
export { download, DownloadStream, DEFAULT_WINDOW_BYTES, type DownloadOptions, type DownloadProgress } from './session/download.js'
export { selectRange, selectPiece, type Selection } from './session/selection.js'
export { downloadToDisk, DiskDownload, type DiskDownloadOptions, type DiskProgress } from './session/download-to-disk.js'
export { fetchMagnetMetadata, type MagnetMetadata, type MagnetMetadataOptions } from './session/magnet-metadata.js'
export { seedFromDisk, type SeedOptions, type SeedSession } from './session/seed.js'
export * as seed from './seed/index.js'
export { Uploader, Choker, PeerListener, Seeder, type UploaderOptions, type ChokerOptions, type PeerListenerOptions, type SeederOptions, type PieceReader } from './seed/index.js'
export * as extensions from './extensions/index.js'
export * as dht from './dht/index.js'
export * as crypto from './crypto/index.js'
export type { EncryptionPolicy } from './wire/connect.js'
export * as wire from './wire/index.js'
export * as tracker from './tracker/index.js'
export { Swarm, type SwarmOptions, type SwarmStats, type SwarmUpload, type WirePeer, type PieceSink } from './swarm/swarm.js'
export { UploadSide, type UploadSideOptions } from './swarm/upload-side.js'
export { ServedPeers, type ServedConnection, type ServedPeer } from './seed/served-peers.js'
export { PeerPool, type PeerAddress } from './swarm/peer-pool.js'
export { dialer, wirePeer } from './swarm/wire-peer.js'
export { PiecePicker } from './pieces/piece-picker.js'
export { RequestTracker } from './pieces/request-tracker.js'
export { pieceMatches } from './pieces/verify.js'
export { MergingWritable, type VerifiedPiece } from './output/merging-writable.js'
export { chunker } from './output/chunker.js'
export { progressMeter } from './output/progress-meter.js'
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
export { BitField } from './wire/bitfield.js'
