/**
 * The engine's contracts: the peers it is given (WirePeer), where verified pieces go (PieceSink),
 * the upload side it may be given (SwarmUpload), its options and its numbers.
 */
import type { RateLimiter } from '../util/rate-limiter.js'
import type { Metainfo } from '../metainfo/types.js'
import type { Message } from '../wire/messages.js'
import type { PieceSource } from '../pieces/piece-picker.js'
import type { VerifiedPiece } from '../output/merging-writable.js'
import type { PeerAddress } from './peer-pool.js'
import type { PeerLink, PeerSession } from './peer-session.js'
import type { ServedConnection } from '../seed/served-peers.js'
import type { SeedMode } from './seed-mode.js'

/** A connected, handshaken peer as the engine uses it (see wire-peer.ts for the adapter). */
export interface WirePeer extends PeerLink {
  readonly peerId: Uint8Array
  /** The wire connection, for the upload side; absent on engine tests' fakes. */
  readonly connection?: ServedConnection
  /** Deliver messages to `onMessage` from now on; `onClose` runs once when the connection ends. */
  attach (onMessage: (m: Message) => void, onClose: (err: Error | null) => void): void
}

/**
 * Where verified pieces go. The merging Writable and the disk sink both fit. `write` returning
 * false stops new pieces from starting until the owner calls `sinkDrained()`; a stdout merger's
 * owner reports its cursor with `sinkAdvanced()`.
 */
export interface PieceSink {
  write (piece: VerifiedPiece): boolean
  end (data?: unknown): unknown
  destroy (err?: Error): void
}

/**
 * The upload side (disk mode; lib/swarm/upload-side.ts): told who joins and leaves, and handed the
 * messages that are about uploading. Without one the swarm only downloads.
 */
export interface SwarmUpload {
  open (session: PeerSession, peer: WirePeer): void
  /** `request`, `cancel`, `interested`, `notInterested` from the peer. */
  onMessage (session: PeerSession, m: Message): void
  close (session: PeerSession): void
  stop (): void
}

export interface SwarmOptions {
  readonly meta: Metainfo
  readonly peerId: Uint8Array
  readonly sink: PieceSink
  /** Pieces wanted, inclusive (a `--file` selection); default all. */
  readonly firstPiece?: number
  readonly lastPiece?: number
  /** Within first..last, only these pieces (files selected on disk). */
  readonly wanted?: PieceSource
  /** Pieces already verified on disk (resume). */
  readonly have?: PieceSource
  /** Pieces past the sink's cursor that may be in memory; undefined: no window (disk). */
  readonly windowPieces?: number
  /** Without a window: bytes of pieces being fetched at most (default 64 MiB). */
  readonly maxActiveBytes?: number
  readonly connect: (addr: PeerAddress, signal: AbortSignal) => Promise<WirePeer>
  readonly maxPeers?: number
  readonly maxHalfOpen?: number
  /** Fail when no block arrived for this long and no peer is connected. */
  readonly stallTimeoutMs?: number
  /** A request unanswered this long goes back to the pool. */
  readonly requestTimeoutMs?: number
  /** A peer that sent nothing for this long while holding requests is snubbed. */
  readonly snubMs?: number
  /** Serve peers too (disk mode); undefined: download only. */
  readonly upload?: SwarmUpload
  /** Seed mode (seed-mode.ts): complete from the start, serving through `upload` until stop(). */
  readonly seed?: SeedMode
  /** `maxDownloadRate`: one bucket for the whole swarm (lib/util/rate-limiter.ts). */
  readonly downloadLimiter?: RateLimiter
}

export interface SwarmStats {
  readonly downloaded: number
  readonly verified: number
  readonly wasted: number
  readonly rate: number
  readonly peers: number
  readonly piecesLeft: number
  /** Bytes of wanted pieces not yet verified (for `left` in announces). */
  readonly bytesLeft: number
  readonly banned: number
  readonly hashFailures: number
}
