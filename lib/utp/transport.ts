import { EventEmitter } from 'node:events'
import { BtStreamError } from '../util/errors.js'
import { PeerConnectError } from '../wire/connect.js'
import { loadUtpNative, UtpUnavailableError, type NativeUtpConnection, type NativeUtpSocket, type UtpNative } from './native.js'
import { DEFAULT_MAX_UNREAD_BYTES, guardConnection, type UtpStream } from './stream-guard.js'
import { UtpDatagrams } from './datagrams.js'

/**
 * UtpTransport: one UDP socket running libutp (BEP 29), dialing and accepting uTP connections.
 * Each connection is a Node Duplex (UtpStream) that PeerConnection runs over exactly as over a
 * net.Socket. Bind it to the port number the TCP listener uses, so the one port we announce
 * reaches both kinds of peer.
 *
 * Bounds:
 * - Inbound connections open at once: at most `maxInbound`. At the bound libutp's firewall drops
 *   new SYNs (no state, no reply) until one closes. Every SYN that gets through costs a libutp
 *   socket and a JS connection with 128 KiB of read buffer, so a SYN flood (a SYN is 20 bytes from
 *   any spoofed address) is bounded by this, not by libutp's own 3000 sockets. A SYN that is never
 *   followed up is closed after `firstDataTimeout` (libutp alone would keep it for ever).
 * - Unread bytes per connection: see stream-guard.ts.
 * - A dial: `timeout` (default 10 s, like TCP's). libutp alone gives up on an unanswered SYN
 *   only after 3 + 6 + 12 s (measured 21.3 s), because it never sees the ICMP port-unreachable.
 * - A peer that stops acknowledging: libutp times the connection out after 4 retransmissions
 *   with doubling RTO (the connection errors with UTP_ETIMEDOUT).
 * Datagrams that are not uTP (libutp leaves them) go to `datagrams`, for a DHT sharing the port.
 */

export interface UtpTransportOptions {
  /** UDP port (default 0: any free port). The TCP listener's port, to share its number. */
  readonly port?: number
  /** Address to bind (default 0.0.0.0; utp-native is IPv4 only). */
  readonly host?: string
  /** Accept inbound connections (default true). False: dial only, every SYN dropped. */
  readonly accept?: boolean
  /** Inbound connections open at once (default DEFAULT_MAX_INBOUND). */
  readonly maxInbound?: number
  /** An inbound connection whose peer sends nothing for this long after its SYN is closed (default DEFAULT_FIRST_DATA_TIMEOUT). */
  readonly firstDataTimeout?: number
  /** Bytes a connection may hold unread before it is dropped (default DEFAULT_MAX_UNREAD_BYTES). */
  readonly maxUnreadBytes?: number
  /** UDP socket buffers, each way (default DEFAULT_SOCKET_BUFFER_BYTES). */
  readonly socketBufferBytes?: number
  /** The libutp bindings (default: loadUtpNative()); tests pass a failing loader's result. */
  readonly native?: UtpNative | UtpUnavailableError
}

export interface UtpDialOptions {
  /** Give up after this long without a SYN-ACK (default DEFAULT_UTP_CONNECT_TIMEOUT). */
  readonly timeout?: number
  readonly signal?: AbortSignal
}

export interface UtpTransportEvents {
  /** A peer opened a uTP connection to us. Its errors are the taker's to listen for. */
  connection: [UtpStream]
  /** The UDP socket failed after it was bound (reads failing); connections carry their own errors. */
  error: [Error]
}

/** Above the swarm's peer limit plus the listener's 64 handshaking, well under libutp's 3000 sockets. */
export const DEFAULT_MAX_INBOUND = 256
export const DEFAULT_UTP_CONNECT_TIMEOUT = 10_000
/**
 * libutp keeps an accepted connection whose peer never sends after its SYN for ever (no data in
 * flight, so no retransmission timer): a spoofed SYN would hold an inbound slot. A BitTorrent
 * initiator sends its handshake at once; the same 10 s the TCP listener gives a handshake.
 */
export const DEFAULT_FIRST_DATA_TIMEOUT = 10_000
/**
 * UDP socket buffers. One socket carries every uTP peer, and every packet passes through JS: the
 * kernel's default 208 KiB receive buffer overflowed under a libtorrent seeder on loopback (UDP
 * receive buffer errors climbed; each loss halves libtorrent's window): 5.6 MiB/s, 46+ with
 * 4 MiB. The kernel caps it at net.core.rmem_max (a stock Linux: 208 KiB; raise it for uTP).
 */
export const DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
/** A FIN exchange on a live link takes a round trip; past this the peer is not answering. */
export const CLOSE_GRACE_MS = 1000

export class UtpTransport extends EventEmitter<UtpTransportEvents> {
  /** Datagrams on our port that are not uTP (a DHT on the same port reads them here). */
  readonly datagrams: UtpDatagrams
  private readonly _socket: NativeUtpSocket
  private readonly _opts: UtpTransportOptions
  private readonly _inbound = new Set<NativeUtpConnection>()
  private readonly _outbound = new Set<NativeUtpConnection>()
  private _port = 0
  private _closing: Promise<void> | undefined

  private constructor (socket: NativeUtpSocket, opts: UtpTransportOptions) {
    super()
    this._socket = socket
    this._opts = opts
    this.datagrams = new UtpDatagrams(socket, () => this._port)
    socket.on('connection', (c) => { this._onConnection(c) })
    socket.on('message', (msg, rinfo) => { if (isCloseWithReason(msg)) this._onPeerClosed(rinfo.address, rinfo.port, msg[1] as number) })
  }

  /**
   * Binds a UDP socket with libutp. Rejects with UtpUnavailableError when utp-native cannot be
   * loaded, with BtStreamError when the port cannot be bound.
   */
  static open (opts: UtpTransportOptions = {}): Promise<UtpTransport> {
    const native = opts.native ?? loadUtpNative()
    if (native instanceof UtpUnavailableError) return Promise.reject(native)
    const socket = native.createSocket()
    const transport = new UtpTransport(socket, opts)
    const port = opts.port ?? 0
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close()
        reject(new BtStreamError(`cannot listen for uTP on UDP port ${port}: ${err.message}`, { cause: err }))
      }
      socket.once('error', onError)
      socket.bind(port, opts.host ?? '0.0.0.0', () => {
        socket.off('error', onError)
        socket.on('error', (err) => { if (transport.listenerCount('error') > 0) transport.emit('error', err) })
        transport._port = socket.address().port
        // Best effort: the kernel caps it at net.core.rmem_max / wmem_max.
        try {
          socket.setRecvBufferSize(opts.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES)
          socket.setSendBufferSize(opts.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES)
        } catch {}
        transport._updateFirewall()
        resolve(transport)
      })
    })
  }

  get port (): number { return this._port }
  /** Inbound connections open now. */
  get inbound (): number { return this._inbound.size }
  /** Outbound connections open now (dialing or connected). */
  get outbound (): number { return this._outbound.size }

  /** Opens a uTP connection; resolves once the peer answered our SYN. */
  dial (host: string, port: number, opts: UtpDialOptions = {}): Promise<UtpStream> {
    return new Promise((resolve, reject) => {
      const where = `${host}:${port}`
      if (opts.signal?.aborted === true) { reject(new PeerConnectError('aborted')); return }
      if (this._closing !== undefined) { reject(new PeerConnectError(`cannot connect to ${where} over uTP: the transport is closed`)); return }
      const conn = this._socket.connect(port, host)
      this._track(conn, this._outbound)
      const timeout = opts.timeout ?? DEFAULT_UTP_CONNECT_TIMEOUT
      const fail = (err: Error): void => {
        cleanup()
        conn.destroy()
        reject(err instanceof PeerConnectError ? err : new PeerConnectError(`cannot connect to ${where} over uTP: ${err.message}`, { cause: withErrno(err) }))
      }
      const timer = setTimeout(() => {
        const err = new PeerConnectError(`cannot connect to ${where} over uTP: no answer within ${timeout} ms`, { cause: Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }) })
        fail(err)
      }, timeout)
      const onAbort = (): void => { fail(new PeerConnectError('aborted')) }
      const onClose = (): void => { fail(new Error('closed before it connected')) }
      const onConnect = (): void => {
        cleanup()
        // Until the PeerConnection takes it (a microtask later) an error must not be fatal; it
        // sees the connection closed and reports that.
        conn.on('error', ignoreUntilOwned)
        resolve(guardConnection(conn, this._opts.maxUnreadBytes ?? DEFAULT_MAX_UNREAD_BYTES))
      }
      const cleanup = (): void => {
        clearTimeout(timer)
        conn.off('connect', onConnect)
        conn.off('error', fail)
        conn.off('close', onClose)
        opts.signal?.removeEventListener('abort', onAbort)
      }
      conn.once('connect', onConnect)
      conn.once('error', fail)
      conn.once('close', onClose)
      opts.signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /**
   * Stops accepting, ends every connection it made or took, and closes the UDP socket once they
   * are gone. Resolves when the socket closed or after CLOSE_GRACE_MS, whichever is first: a
   * closed uTP connection lingers until the peer acknowledges our FIN, and a peer that vanished
   * never does (libutp then times it out, ~30 s). The socket is unref'd so that linger never
   * holds the process open; it closes itself when the last connection times out.
   */
  close (): Promise<void> {
    this._closing ??= new Promise<void>((resolve) => {
      this._socket.firewall(true)
      for (const c of [...this._inbound, ...this._outbound]) c.destroy()
      const grace = setTimeout(() => { this._socket.unref(); resolve() }, CLOSE_GRACE_MS)
      // utp-native closes the UDP socket once the last connection has closed.
      this._socket.close(() => { clearTimeout(grace); resolve() })
    })
    return this._closing
  }

  private _onConnection (raw: NativeUtpConnection): void {
    this._track(raw, this._inbound)
    if (this._closing !== undefined || this._inbound.size > this._maxInbound()) { raw.destroy(); return }
    // Nobody to take it: it would sit unread until libutp's keep-alive timeout.
    if (this.listenerCount('connection') === 0) { raw.on('error', ignoreUntilOwned); raw.destroy(); return }
    const stream = guardConnection(raw, this._opts.maxUnreadBytes ?? DEFAULT_MAX_UNREAD_BYTES)
    // utp-native reports 'connect' on an inbound connection's first data.
    const silent = setTimeout(() => { raw.destroy() }, this._opts.firstDataTimeout ?? DEFAULT_FIRST_DATA_TIMEOUT)
    raw.once('connect', () => { clearTimeout(silent) })
    raw.once('close', () => { clearTimeout(silent) })
    this.emit('connection', stream)
  }

  /**
   * libutp takes a packet whose first extension type is 3 or more for "not uTP" (UTP_Version()
   * in utp_internal.cpp) and drops it. libtorrent puts its close reason in extension 3 of the
   * FIN it sends when it closes a connection on purpose (a duplicate, a torrent it does not
   * serve ...): libutp ignores that FIN and the connection hangs until a timeout (measured: a
   * redial to libtorrent waited out our 8 s handshake timeout). Such a packet comes out of the
   * socket as a non-uTP datagram; the peer's live connections from that address end here.
   * The packet is not authenticated, but neither is a RESET, which libutp honours as it comes.
   */
  private _onPeerClosed (host: string, port: number, extension: number): void {
    for (const c of [...this._inbound, ...this._outbound]) {
      if (c.remoteAddress === host && c.remotePort === port && !c.destroyed) {
        const err = Object.assign(new BtStreamError(`the uTP peer closed the connection (a FIN carrying extension ${extension}, which libutp does not parse)`), { code: 'ECONNRESET' })
        // utp-native reports a destroy's error only at 'close', after libutp's FIN exchange, which
        // a peer that already left never completes: tell the owner now.
        if (c.listenerCount('error') > 0) c.emit('error', err)
        c.destroy()
      }
    }
  }

  private _track (conn: NativeUtpConnection, set: Set<NativeUtpConnection>): void {
    set.add(conn)
    this._updateFirewall()
    conn.once('close', () => {
      set.delete(conn)
      // utp-native reopens the firewall whenever any connection closes: say again what we want.
      this._updateFirewall()
    })
  }

  private _maxInbound (): number { return this._opts.maxInbound ?? DEFAULT_MAX_INBOUND }

  private _updateFirewall (): void {
    const accept = this._closing === undefined && (this._opts.accept ?? true) && this._inbound.size < this._maxInbound()
    this._socket.firewall(!accept)
  }
}

/** BEP 29: type ST_FIN (1) or ST_RESET (3) in the high nibble, version 1, and a first extension libutp rejects. */
function isCloseWithReason (msg: Uint8Array): boolean {
  if (msg.length < 20 || ((msg[0] as number) & 0x0f) !== 1) return false
  const type = (msg[0] as number) >> 4
  return (type === 1 || type === 3) && (msg[1] as number) >= 3
}

/** utp-native names its errors UTP_ECONNREFUSED etc.; the swarm classifies by the errno names. */
function withErrno (err: Error): Error {
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && code.startsWith('UTP_E')) return Object.assign(new Error(err.message), { code: code.slice(4) })
  return err
}

function ignoreUntilOwned (): void {}
