import { EventEmitter } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { EncryptedStream } from '../crypto/encrypted-stream.js'
import { CRYPTO_PLAINTEXT, CRYPTO_RC4, selectMethod, skeyHash } from '../crypto/mse-handshake.js'
import { sniffProtocol } from '../crypto/sniff.js'
import { BtStreamError, ProtocolError } from '../util/errors.js'
import type { BitField } from '../wire/bitfield.js'
import { waitForHandshake, type EncryptionPolicy } from '../wire/connect.js'
import { equalBytes, toHex } from '../wire/handshake.js'
import type { OurExtensions, PeerConnectionOptions } from '../wire/peer-connection-options.js'
import { PeerConnection } from '../wire/peer-connection.js'
import type { PeerAddress } from '../tracker/compact.js'
import { generatePeerId } from '../wire/peer-id.js'
import type { UtpTransport } from '../utp/transport.js'
import type { UtpStream } from '../utp/stream-guard.js'

/**
 * The responder's choice under 'prefer': plaintext when the initiator offers it (the obfuscated
 * handshake is kept, the payload is not encrypted), else RC4 when offered, else refuse (0).
 */
function preferPlaintext (provide: number): number {
  if ((provide & CRYPTO_PLAINTEXT) !== 0) return CRYPTO_PLAINTEXT
  if ((provide & CRYPTO_RC4) !== 0) return CRYPTO_RC4
  return 0
}

/** What an inbound peer arrives on: a TCP socket, or a uTP stream (lib/utp) on the same port number. */
type InboundSocket = Socket | UtpStream

/**
 * PeerListener: the TCP server peers dial to reach us. Each socket becomes an inbound
 * PeerConnection (what `acceptPeer` builds, with an error listener attached from the start); its
 * `accept` looks the info hash of the peer's handshake up in the torrents we serve and, if
 * found, the connection is told that torrent's pieces (sent as our bitfield, or BEP 6 have all /
 * have none) before our handshake goes out. A hash we do not serve closes the socket without a
 * word from us.
 *
 * One port takes both kinds of peer: a socket whose first 20 bytes are BEP 3's `19 "BitTorrent
 * protocol"` is plaintext; anything else is MSE/PE (lib/crypto/), answered as responder with the
 * SKEY found among the torrents we serve, and the PeerConnection runs over the decrypted stream
 * (`encryption`: 'prefer' takes both, 'require' refuses plaintext, 'off' refuses MSE). Under
 * 'prefer' an MSE initiator that offers plaintext as well as RC4 gets plaintext after the MSE
 * handshake (libtorrent's choice as responder, `prefer_rc4` off by default): it said plaintext
 * will do, and RC4 on every byte costs this process more CPU than the rest of an upload (a
 * libtorrent 2.0 leecher offers both by default). One that offers only RC4 gets RC4.
 *
 * Bounds: at most `maxHandshaking` sockets between accept and a completed handshake (more are
 * closed on arrival: a connect flood cannot hold more than that many sockets or timers), each for
 * at most `handshakeTimeout`. Open connections are the owner's to bound: the listener hands every
 * one out with 'peer' and forgets it.
 */
export interface ServedTorrent {
  readonly pieceCount: number
  /** Our pieces, read when the peer's handshake arrives (the bitfield we send). */
  readonly have: BitField
  readonly extensions?: OurExtensions
}

export interface PeerListenerOptions {
  /** TCP port (default 0: any free port). */
  readonly port?: number
  /** Address to bind (default: every interface). */
  readonly host?: string
  /** Our peer id, the same on every connection (default: a fresh one). */
  readonly peerId?: Uint8Array
  readonly maxHandshaking?: number
  readonly handshakeTimeout?: number
  /** Which inbound peers we take (default 'prefer': plaintext and MSE alike). */
  readonly encryption?: EncryptionPolicy
  /** Anything else every connection gets (limits, timeouts, BEP 6 on/off). */
  readonly connection?: Omit<PeerConnectionOptions, 'accept' | 'infoHash' | 'have' | 'pieceCount' | 'extensions' | 'peerId' | 'handshakeTimeout'>
}

export interface PeerListenerEvents {
  /**
   * A peer completed the handshake for a torrent we serve. `remote` is the socket's address and
   * port (the peer's key in a swarm), undefined when the OS no longer knows it.
   */
  peer: [conn: PeerConnection, infoHashHex: string, remote: PeerAddress | undefined]
  /** A socket closed before the handshake completed (refused, timed out, garbage, over the bound). */
  refused: [reason: Error]
}

export const DEFAULT_MAX_HANDSHAKING = 64
/** Shorter than a dialed connection's 20 s: an inbound peer has already had its TCP handshake. */
export const DEFAULT_LISTENER_HANDSHAKE_TIMEOUT = 10_000

type MutableOptions = { -readonly [K in keyof PeerConnectionOptions]: PeerConnectionOptions[K] }

export class PeerListener extends EventEmitter<PeerListenerEvents> {
  /** Ours on every inbound connection; dial with it too, so a connection to ourselves is caught. */
  readonly peerId: Uint8Array
  private readonly _opts: PeerListenerOptions
  private readonly _server: Server
  private readonly _torrents = new Map<string, ServedTorrent>()
  /** MSE: HASH('req2', info hash) hex -> info hash, for the responder to find SKEY. */
  private readonly _skeys = new Map<string, Uint8Array>()
  private readonly _handshaking = new Set<InboundSocket>()
  private readonly _utp: Array<{ transport: UtpTransport, onConnection: (s: UtpStream) => void }> = []
  private _port: number | undefined
  private _closing: Promise<void> | undefined

  constructor (opts: PeerListenerOptions = {}) {
    super()
    this._opts = opts
    this.peerId = opts.peerId ?? generatePeerId()
    this._server = createServer((socket) => { this._onSocket(socket) })
  }

  /** The bound port, once listen() resolved. */
  get port (): number {
    if (this._port === undefined) throw new BtStreamError('the listener is not listening')
    return this._port
  }

  /** Sockets waiting for their handshake. */
  get handshaking (): number { return this._handshaking.size }

  /** Binds; resolves with the port (the ephemeral one the OS chose for port 0). */
  listen (): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new BtStreamError(`cannot listen on port ${this._opts.port ?? 0}: ${err.message}`, { cause: err }))
      }
      this._server.once('error', onError)
      this._server.listen({ port: this._opts.port ?? 0, ...(this._opts.host !== undefined ? { host: this._opts.host } : {}) }, () => {
        this._server.off('error', onError)
        // Later server errors (EMFILE on accept) cost one connection, not the process.
        this._server.on('error', (err) => { this.emit('refused', err) })
        const addr = this._server.address()
        if (addr === null || typeof addr === 'string') { reject(new BtStreamError('the listener has no TCP address')); return }
        this._port = addr.port
        resolve(addr.port)
      })
    })
  }

  /**
   * Takes inbound uTP connections from `transport` too (BEP 29; open it on our port number:
   * `UtpTransport.open({ port: listener.port })`), under the same handshake bound and checks as
   * TCP. The transport stays its owner's: close() only stops listening to it.
   */
  attachUtp (transport: UtpTransport): void {
    const onConnection = (s: UtpStream): void => { this._onSocket(s) }
    transport.on('connection', onConnection)
    this._utp.push({ transport, onConnection })
  }

  /** Accept peers for this torrent from now on. */
  serve (infoHashHex: string, torrent: ServedTorrent): void {
    this._torrents.set(infoHashHex.toLowerCase(), torrent)
    const ih = Buffer.from(infoHashHex, 'hex')
    this._skeys.set(toHex(skeyHash(ih)), ih)
  }

  /** Refuse new peers for it; open connections are the owner's. */
  unserve (infoHashHex: string): void {
    this._torrents.delete(infoHashHex.toLowerCase())
    this._skeys.delete(toHex(skeyHash(Buffer.from(infoHashHex, 'hex'))))
  }

  /** Stops accepting, closes sockets still in their handshake. */
  close (): Promise<void> {
    this._closing ??= new Promise<void>((resolve) => {
      for (const s of this._handshaking) s.destroy()
      this._handshaking.clear()
      for (const { transport, onConnection } of this._utp) transport.off('connection', onConnection)
      if (!this._server.listening) { resolve(); return }
      this._server.close(() => { resolve() })
    })
    return this._closing
  }

  private _onSocket (socket: InboundSocket): void {
    if (this._closing !== undefined) { socket.destroy(); return }
    const max = this._opts.maxHandshaking ?? DEFAULT_MAX_HANDSHAKING
    if (this._handshaking.size >= max) {
      socket.destroy()
      this.emit('refused', new BtStreamError(`${max} sockets already in their handshake`))
      return
    }
    this._handshaking.add(socket)
    socket.setNoDelay(true) // small messages go out at once (see lib/wire/connect.ts)
    const timeout = this._opts.handshakeTimeout ?? DEFAULT_LISTENER_HANDSHAKE_TIMEOUT
    const policy = this._opts.encryption ?? 'prefer'
    const started = Date.now()
    sniffProtocol(socket, timeout).then((sniffed) => {
      if (this._closing !== undefined) { socket.destroy(); this._handshaking.delete(socket); return }
      const left = Math.max(1, timeout - (Date.now() - started))
      if (sniffed.plaintext) {
        if (policy === 'require') throw new ProtocolError('plaintext handshake refused: encryption is required')
        socket.unshift(sniffed.head)
        this._open(socket, socket, left)
        socket.resume() // the sniff paused it; the PeerConnection reads from here
        return
      }
      if (policy === 'off') throw new ProtocolError('not a BitTorrent handshake (MSE refused: encryption is off)')
      const enc = new EncryptedStream(socket, {
        role: 'responder',
        head: sniffed.head,
        findSkey: (req2) => this._skeys.get(toHex(req2)),
        select: policy === 'require' ? selectMethod(CRYPTO_RC4) : preferPlaintext,
        handshakeTimeout: left
      })
      this._open(enc, socket, left, enc)
    }).catch((err: Error) => {
      socket.destroy()
      this._handshaking.delete(socket)
      this.emit('refused', err)
    })
  }

  /** The PeerConnection over `stream` (the socket, or the decrypted stream over it). */
  private _open (stream: Duplex, socket: InboundSocket, handshakeTimeout: number, enc?: EncryptedStream): void {
    const remote = remoteAddress(socket)
    let hex = ''
    // The connection reads `have` and `extensions` from its options when it sends its greeting,
    // which is after accept() said yes: so they are filled in here, for the torrent asked for.
    const opts: MutableOptions = {
      ...this._opts.connection,
      handshakeTimeout,
      peerId: this.peerId,
      accept: (infoHash) => {
        hex = toHex(infoHash)
        // MSE: the handshake inside must be for the torrent the encryption was keyed with.
        if (enc?.mse !== undefined && !equalBytes(enc.mse.infoHash, infoHash)) return false
        const served = this._torrents.get(hex)
        if (served === undefined) return false
        opts.have = served.have
        if (served.extensions !== undefined) opts.extensions = served.extensions
        // The parser is paused until we answer: every message is checked against the exact count.
        conn.setPieceCount(served.pieceCount)
        return !conn.destroying
      }
    }
    const conn = new PeerConnection(stream, opts)
    // Errors before the handshake completes are reported as 'refused' (the connection itself
    // keeps an 'error' listener, so a peer can never crash us in between).
    waitForHandshake(conn).then(() => {
      this._handshaking.delete(socket)
      // Nobody to take it (closing, or no 'peer' handler): it would sit unread until the idle timeout.
      if (this._closing !== undefined || this.listenerCount('peer') === 0) { conn.destroy(); return }
      this.emit('peer', conn, hex, remote)
    }, (err: Error) => {
      this._handshaking.delete(socket)
      this.emit('refused', err)
    })
  }
}

/** A dual-stack socket names an IPv4 peer `::ffff:a.b.c.d`; the pool knows it as `a.b.c.d`. */
function remoteAddress (socket: InboundSocket): PeerAddress | undefined {
  const host = socket.remoteAddress
  const port = socket.remotePort
  if (host === undefined || port === undefined) return undefined
  return { host: host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host, port }
}
