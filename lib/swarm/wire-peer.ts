/**
 * Adapts the wire's PeerConnection (a Duplex of messages) to the engine's WirePeer, and dials
 * peers for the pool. The engine reads messages as they come ('data'): it handles each one
 * synchronously (a block is copied into its piece and the socket chunk freed), so what bounds
 * memory is the request window, not the connection's buffer.
 */
import { connect, type EncryptionPolicy } from '../wire/connect.js'
import { backlogged } from '../seed/reply-gate.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import { ourExtensions } from '../extensions/extension-ids.js'
import type { Metainfo } from '../metainfo/types.js'
import type { Message } from '../wire/messages.js'
import type { BitField } from '../wire/bitfield.js'
import { DEFAULT_REQQ, type OurExtensions } from '../wire/peer-connection-options.js'
import type { PeerAddress } from './peer-pool.js'
import type { UtpMode } from '../utp/dial-policy.js'
import type { UtpTransport } from '../utp/transport.js'
import type { WirePeer } from './swarm.js'

export function wirePeer (conn: PeerConnection): WirePeer {
  const hs = conn.peerHandshake
  if (hs === undefined) throw new TypeError('wirePeer needs a connection whose handshake is done')
  return {
    peerId: hs.peerId,
    connection: conn,
    fast: conn.fastEnabled,
    extensionPeer: conn,
    get reqq () { return conn.peerExtendedHandshake?.reqq },
    attach (onMessage: (m: Message) => void, onClose: (err: Error | null) => void): void {
      conn.consume(onMessage)
      conn.whenClosed(onClose)
    },
    interested: () => { conn.interested() },
    notInterested: () => { conn.notInterested() },
    request: (index, begin, length) => { conn.request(index, begin, length) },
    requestMany: reqs => { conn.requests(reqs) },
    cancel: (index, begin, length) => { conn.cancel(index, begin, length) },
    destroy: (err?: Error) => { conn.destroy(err) },
    backlogged: () => backlogged(conn)
  }
}

export interface DialOptions {
  readonly meta: Pick<Metainfo, 'infoHash' | 'pieceCount' | 'infoBytes' | 'private'> & Partial<Pick<Metainfo, 'version' | 'infoHashV2'>>
  readonly peerId: Uint8Array
  /**
   * Disk mode: our pieces on disk, sent after the handshake (bitfield, or BEP 6 have all / have
   * none), and the port we listen on (BEP 10 `p`). Undefined (stdout): we send no pieces.
   */
  readonly have?: BitField
  readonly listenPort?: number
  readonly connectTimeoutMs?: number
  /** MSE/PE policy for our dials (default 'prefer': plaintext first, MSE if the peer closes on it). */
  readonly encryption?: EncryptionPolicy
  readonly handshakeTimeoutMs?: number
  /** uTP (BEP 29): the session's transport, once open (undefined: TCP only), and the dial policy. */
  readonly utp?: Promise<UtpTransport | undefined>
  readonly utpMode?: UtpMode
}

/** The pool's dial function: TCP connect, both handshakes, then the engine's view of the peer. */
export function dialer (opts: DialOptions): (addr: PeerAddress, signal: AbortSignal) => Promise<WirePeer> {
  return async (addr, signal) => {
    const utp = await opts.utp
    const conn = await connect({
      host: addr.host,
      port: addr.port,
      infoHash: opts.meta.infoHash,
      peerId: opts.peerId,
      pieceCount: opts.meta.pieceCount,
      extensions: dialExtensions(opts),
      ...v2Handshake(opts.meta),
      ...(opts.have === undefined ? {} : { have: opts.have }),
      connectTimeout: opts.connectTimeoutMs,
      handshakeTimeout: opts.handshakeTimeoutMs,
      ...(opts.encryption === undefined ? {} : { encryption: opts.encryption }),
      signal,
      ...(utp === undefined ? {} : { utp }),
      ...(opts.utpMode === undefined ? {} : { utpMode: opts.utpMode })
    })
    return wirePeer(conn)
  }
}

/**
 * BEP 52 in the handshake: the "supports v2" bit for torrents with v2 metadata; for a hybrid, the
 * truncated v2 hash is accepted in the reply as well (a v2 peer upgrades the connection).
 */
export function v2Handshake (meta: Partial<Pick<Metainfo, 'version' | 'infoHashV2'>>): { v2?: boolean, upgradeInfoHash?: Uint8Array } {
  if (meta.version === undefined || meta.version === 'v1') return {}
  if (meta.version === 'hybrid' && meta.infoHashV2 !== undefined) return { v2: true, upgradeInfoHash: meta.infoHashV2.subarray(0, 20) }
  return { v2: true }
}

/**
 * Our BEP 10 handshake: we serve our metadata (BEP 9) and exchange peers (BEP 11, not when
 * private); when uploading, our listen port (`p`) and the requests we queue (`reqq`).
 */
export function dialExtensions (opts: DialOptions): OurExtensions {
  const ext = ourExtensions({ metadataSize: opts.meta.infoBytes.length, private: opts.meta.private, port: opts.listenPort })
  return opts.have === undefined ? ext : { ...ext, reqq: DEFAULT_REQQ }
}
