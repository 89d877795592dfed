import type { BitField } from './bitfield.js'
import type { BorrowedReads } from './borrowed-reads.js'
import type { Handshake, ReservedBits } from './handshake.js'
import type { WireLimits } from './limits.js'
import type { ClientInfo } from './peer-id.js'

/** What a PeerConnection is told at construction; every field optional but infoHash/accept. */
export interface PeerConnectionOptions extends WireLimits {
  /** Our peer id (default: a fresh `-bs0100-` id). */
  readonly peerId?: Uint8Array
  /** Outbound: the torrent we want. Omit for inbound and give `accept`. */
  readonly infoHash?: Uint8Array
  /** Inbound: decide whether we serve the info hash the peer asked for. */
  readonly accept?: (infoHash: Uint8Array, handshake: Handshake) => boolean | Promise<boolean>
  /** Reserved bits we advertise: BEP 10 and BEP 6 default on, DHT (BEP 5) off. */
  readonly extended?: boolean
  readonly fast?: boolean
  readonly dht?: boolean
  /** BEP 52: reserved byte 7 bit 0x10, "supports v2" (off by default). */
  readonly v2?: boolean
  /**
   * Outbound, a hybrid torrent: its v2 hash truncated to 20 bytes, also accepted in the peer's
   * handshake. A v2 peer answers a v1 hash sent with the v2 bit by upgrading the connection to
   * the v2 swarm: its handshake carries this hash (libtorrent 2.0 does; BEP 52 "upgrade").
   */
  readonly upgradeInfoHash?: Uint8Array
  /** Our BEP 10 handshake fields. */
  readonly extensions?: OurExtensions
  /** Our pieces: sent as bitfield (or have all / have none with BEP 6) right after the handshake. */
  readonly have?: BitField
  /** Send a keep-alive after this long without sending anything (BEP 3: ~2 minutes). */
  readonly keepAliveInterval?: number
  /** Drop the peer after this long without receiving a byte. */
  readonly idleTimeout?: number
  readonly handshakeTimeout?: number
  /** Bytes of received messages buffered before the socket is paused. */
  readonly highWaterMark?: number
  /**
   * The socket was dialed with `reads.onread` (one reused read buffer, lib/wire/borrowed-reads.ts):
   * its bytes come from there instead of 'data' events.
   */
  readonly reads?: BorrowedReads
}

export interface OurExtensions {
  /** Extension name → the id we want it sent to us on. */
  readonly m?: Readonly<Record<string, number>>
  readonly metadataSize?: number
  /** Our TCP listen port (`p`). */
  readonly port?: number
  /** Outstanding requests we accept (`reqq`). */
  readonly reqq?: number
  /** Client name (`v`), default "bt-stream 0.1.0". */
  readonly version?: string
}

/** The peer's handshake, as the 'handshake' event gives it. */
export interface PeerHandshake extends Handshake {
  readonly extensions: ReservedBits
  /** The client the peer id names, when it follows a known style. */
  readonly client?: ClientInfo
}

export const DEFAULT_KEEP_ALIVE_INTERVAL = 120_000
/** 3.5 minutes: above the 2-minute keep-alive of every client, with room for a late one. */
export const DEFAULT_IDLE_TIMEOUT = 210_000
export const DEFAULT_HANDSHAKE_TIMEOUT = 20_000
/** Outstanding requests we tell peers we queue (libtorrent's default, per BEP 10). */
export const DEFAULT_REQQ = 250
