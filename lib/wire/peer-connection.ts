import { isIPv4, isIPv6 } from 'node:net'
import type { Duplex as NodeDuplex } from 'node:stream'
import { Duplex, type DuplexEvents } from 'streamx'
import { BtStreamError, ProtocolError } from '../util/errors.js'
import type { BitField } from './bitfield.js'
import { frameSize } from './decoder.js'
import { encodedLength, encodeMessage } from './encoder.js'
import { encodeExtendedHandshake, EXTENDED_HANDSHAKE_ID, type ExtendedHandshake } from './extended-handshake.js'
import { decodeReserved, encodeHandshake, encodeReserved, equalBytes, toHex, type Handshake, type ReservedBits } from './handshake.js'
import type { WireLimits } from './limits.js'
import type { Message } from './messages.js'
import { WireParser } from './parser.js'
import { clientFromPeerId, CLIENT_NAME, generatePeerId, type ClientInfo } from './peer-id.js'
import { PeerState } from './peer-state.js'

/**
 * PeerConnection: the peer Duplex. One per peer, over any Node Duplex (a net.Socket in
 * practice; a socket pair in tests).
 *
 * Design (one rule each way):
 * - **Inbound, read the stream.** Every message the peer sends (keep-alives excepted) comes out
 *   of the Readable side as a `Message`, after it was validated and applied to the state fields
 *   (`peerChoking`, `peerPieces`, `peerExtendedHandshake` ...). So `for await (const m of conn)`
 *   sees the same order as the wire, and a field read there is never behind the message just
 *   read (it may be ahead by what is buffered). There are no per-message events; the only
 *   events are connection-level: 'handshake' (PeerHandshake, once, when the connection opens)
 *   and 'extended-handshake' (ExtendedHandshake, on each BEP 10 handshake the peer sends,
 *   because BEP 9 needs metadata_size before anything is read), plus streamx's 'error'/'close'.
 * - **Outbound, write messages.** `write(msg)` or one method per message (`request(i, b, l)`);
 *   `amChoking` / `amInterested` change when the message is written. A write's callback (and
 *   so 'drain' / `Writable.drained()`) completes only once the socket took the bytes
 *   (`socket.write()` returned true, or its 'drain').
 *
 * Backpressure: when the Readable side holds more than `highWaterMark` bytes of messages, the
 * socket is paused (the kernel window closes and the peer's sends stall) until the consumer
 * reads again. Writes are corked so a piece's 13-byte header and its block leave in one writev.
 *
 * Lifetime: outbound (`infoHash` given) sends its handshake at once; inbound (`accept` given)
 * waits for the peer's handshake, asks `accept(infoHash)` and answers only if it says yes. The
 * stream opens (writes flow) after both handshakes; then we send our bitfield (`have` option)
 * and our extension handshake. A wrong info hash, a timeout, or any protocol violation destroys
 * the connection with a ProtocolError naming the reason (see lib/wire/README.md).
 */
export interface PeerConnectionOptions extends WireLimits {
  /** Our peer id (default: a fresh `-BS0100-` id). */
  readonly peerId?: Uint8Array
  /** Outbound: the torrent we want. Omit for inbound and give `accept`. */
  readonly infoHash?: Uint8Array
  /** Inbound: decide whether we serve the info hash the peer asked for. */
  readonly accept?: (infoHash: Uint8Array, handshake: Handshake) => boolean | Promise<boolean>
  /** Reserved bits we advertise: BEP 10 and BEP 6 default on, DHT (BEP 5) off. */
  readonly extended?: boolean
  readonly fast?: boolean
  readonly dht?: boolean
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
const DEFAULT_HIGH_WATER_MARK = 256 * 1024

export interface PeerConnectionEvents extends DuplexEvents {
  handshake: [PeerHandshake]
  'extended-handshake': [ExtendedHandshake]
}

export class PeerConnection extends Duplex<PeerConnectionEvents> {
  readonly socket: NodeDuplex
  readonly peerId: Uint8Array
  readonly reserved: Uint8Array
  readonly state: PeerState
  /** Set once the peer's handshake passed our checks. */
  peerHandshake: PeerHandshake | undefined
  /** What we sent in our BEP 10 handshake, once sent. */
  ourExtendedHandshake: ExtendedHandshake | undefined
  /** Piece payload bytes we sent. */
  uploaded = 0

  private _infoHash: Uint8Array | undefined
  private readonly _opts: PeerConnectionOptions
  private readonly _parser: WireParser
  private _openCb: ((err: Error | null) => void) | undefined
  private _opened = false
  private _pausedSocket = false
  private _drainCb: ((err: Error | null) => void) | undefined
  private _lastIn = Date.now()
  private _lastOut = Date.now()
  private readonly _handshakeTimer: ReturnType<typeof setTimeout>
  private _tick: ReturnType<typeof setInterval> | undefined
  private readonly _listeners: Array<[string, (...args: any[]) => void]>

  constructor (socket: NodeDuplex, opts: PeerConnectionOptions = {}) {
    super({
      eagerOpen: true,
      highWaterMark: opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
      byteLengthReadable: frameSize,
      byteLengthWritable: (m: unknown) => encodedLength(m as Message)
    })
    if (opts.infoHash === undefined && opts.accept === undefined) throw new TypeError('PeerConnection needs infoHash (outbound) or accept (inbound)')
    this.socket = socket
    this._opts = opts
    this._infoHash = opts.infoHash
    this.peerId = opts.peerId ?? generatePeerId()
    this.reserved = encodeReserved({ extended: opts.extended ?? true, fast: opts.fast ?? true, dht: opts.dht ?? false })
    this.state = new PeerState(opts.pieceCount)
    this._parser = new WireParser({
      handshake: (h) => { this._onHandshake(h) },
      message: (m) => { this._onMessage(m) },
      error: (err) => { this.destroy(err) }
    }, opts)
    const timeout = opts.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT
    this._handshakeTimer = setTimeout(() => { this.destroy(new ProtocolError(`no handshake within ${timeout} ms`)) }, timeout)
    this._handshakeTimer.unref?.()
    this._listeners = [
      ['data', (chunk: Uint8Array) => { this._lastIn = Date.now(); this._parser.write(chunk) }],
      ['end', () => { this._onSocketEnd() }],
      ['error', (err: Error) => { this.destroy(err) }],
      ['close', () => { this._onSocketClose() }],
      ['drain', () => { this._onDrain() }]
    ]
    for (const [event, fn] of this._listeners) socket.on(event, fn)
    if (this._infoHash !== undefined) this._sendHandshake(this._infoHash)
  }

  /** The torrent of this connection (inbound: known once the peer's handshake was accepted). */
  get infoHash (): Uint8Array | undefined { return this._infoHash }
  get amChoking (): boolean { return this.state.amChoking }
  get amInterested (): boolean { return this.state.amInterested }
  get peerChoking (): boolean { return this.state.peerChoking }
  get peerInterested (): boolean { return this.state.peerInterested }
  get peerPieces (): BitField | undefined { return this.state.peerPieces }
  get peerExtendedHandshake (): ExtendedHandshake | undefined { return this.state.peerExtendedHandshake }
  /** BEP 6 is on: both sides advertised it. */
  get fastEnabled (): boolean { return this.state.negotiated.fast }
  /** BEP 10 is on: both sides advertised it. */
  get extendedEnabled (): boolean { return this.state.negotiated.extended }
  get downloaded (): number { return this.state.downloaded }
  /** True while we stopped reading the socket because the consumer is behind. */
  get socketPaused (): boolean { return this._pausedSocket }

  /** Metadata arrived (magnet): bounds and the peer's pieces become exact. */
  setPieceCount (pieceCount: number): void {
    this._parser.setPieceCount(pieceCount)
    const err = this.state.setPieceCount(pieceCount)
    if (err !== undefined) this.destroy(err)
  }

  override write (m: Message): boolean {
    switch (m.type) {
      case 'choke': this.state.amChoking = true; break
      case 'unchoke': this.state.amChoking = false; break
      case 'interested': this.state.amInterested = true; break
      case 'notInterested': this.state.amInterested = false; break
      default: break
    }
    return super.write(m)
  }

  keepAlive (): boolean { return this.write({ type: 'keepAlive' }) }
  choke (): boolean { return this.write({ type: 'choke' }) }
  unchoke (): boolean { return this.write({ type: 'unchoke' }) }
  interested (): boolean { return this.write({ type: 'interested' }) }
  notInterested (): boolean { return this.write({ type: 'notInterested' }) }
  have (index: number): boolean { return this.write({ type: 'have', index }) }
  /** Accepts a BitField or its wire bytes (sent as is, not copied). */
  bitfield (bf: BitField | Uint8Array): boolean { return this.write({ type: 'bitfield', bitfield: bf instanceof Uint8Array ? bf : bf.bytes }) }
  request (index: number, begin: number, length: number): boolean { return this.write({ type: 'request', index, begin, length }) }
  /** The block is written as is after a 13-byte header: never copied. */
  piece (index: number, begin: number, block: Uint8Array): boolean { return this.write({ type: 'piece', index, begin, block }) }
  cancel (index: number, begin: number, length: number): boolean { return this.write({ type: 'cancel', index, begin, length }) }
  port (port: number): boolean { return this.write({ type: 'port', port }) }
  suggest (index: number): boolean { return this.write({ type: 'suggest', index }) }
  haveAll (): boolean { return this.write({ type: 'haveAll' }) }
  haveNone (): boolean { return this.write({ type: 'haveNone' }) }
  reject (index: number, begin: number, length: number): boolean { return this.write({ type: 'reject', index, begin, length }) }
  allowedFast (index: number): boolean { return this.write({ type: 'allowedFast', index }) }
  /** BEP 10 message `id` (the id the *peer* gave the extension in its `m`). */
  extended (id: number, payload: Uint8Array): boolean { return this.write({ type: 'extended', id, payload }) }

  override _open (cb: (err: Error | null) => void): void {
    if (this._opened) cb(null)
    else this._openCb = cb
  }

  override _read (cb: (err: Error | null) => void): void {
    if (this._pausedSocket) {
      this._pausedSocket = false
      this.socket.resume()
    }
    cb(null)
  }

  override _writev (batch: unknown[], cb: (err: Error | null) => void): void {
    const socket = this.socket
    if (socket.destroyed || !socket.writable) { cb(new ProtocolError('the connection is closed')); return }
    let ok = true
    socket.cork()
    for (const item of batch) {
      const m = item as Message
      const refused = this._refuseOutbound(m)
      if (refused !== undefined) { socket.uncork(); cb(refused); return }
      const e = encodeMessage(m)
      ok = socket.write(e.head)
      if (e.body !== undefined && e.body.length > 0) ok = socket.write(e.body)
      if (m.type === 'piece') this.uploaded += m.block.length
    }
    socket.uncork()
    this._lastOut = Date.now()
    if (ok) cb(null)
    else this._drainCb = cb
  }

  override _final (cb: (err: Error | null) => void): void {
    this.socket.end()
    cb(null)
  }

  override _destroy (cb: (err: Error | null) => void): void {
    clearTimeout(this._handshakeTimer)
    if (this._tick !== undefined) clearInterval(this._tick)
    for (const [event, fn] of this._listeners) if (event !== 'error') this.socket.off(event, fn)
    this.socket.destroy()
    cb(null)
  }

  /** streamx runs _destroy only once a pending _open or write finished: finish them now. */
  override _predestroy (): void {
    const drain = this._drainCb
    this._drainCb = undefined
    drain?.(new ProtocolError('the connection is closed'))
    const open = this._openCb
    this._openCb = undefined
    open?.(new ProtocolError('closed during the handshake'))
  }

  private _sendHandshake (infoHash: Uint8Array): void {
    this.socket.write(encodeHandshake({ reserved: this.reserved, infoHash, peerId: this.peerId }))
    this._lastOut = Date.now()
  }

  private _onHandshake (h: Handshake): void {
    if (this._infoHash !== undefined) {
      if (!equalBytes(h.infoHash, this._infoHash)) {
        this.destroy(new ProtocolError(`peer answered for info hash ${toHex(h.infoHash)}, we asked for ${toHex(this._infoHash)}`))
        return
      }
      this._completeHandshake(h)
      return
    }
    // Inbound: hold later bytes while the owner decides whether it serves this torrent.
    this._parser.pause()
    const decide = this._opts.accept as NonNullable<PeerConnectionOptions['accept']>
    let verdict: Promise<boolean>
    try {
      verdict = Promise.resolve(decide(h.infoHash, h))
    } catch (err) {
      verdict = Promise.reject(err)
    }
    verdict.then((ok) => {
      if (this.destroying) return
      if (!ok) { this.destroy(new ProtocolError(`not serving info hash ${toHex(h.infoHash)}`)); return }
      this._infoHash = h.infoHash
      this._sendHandshake(h.infoHash)
      this._completeHandshake(h)
      this._parser.resume()
    }, (err: unknown) => {
      this.destroy(err instanceof Error ? err : new BtStreamError(String(err)))
    })
  }

  private _completeHandshake (h: Handshake): void {
    if (equalBytes(h.peerId, this.peerId)) { this.destroy(new ProtocolError('connected to ourselves (same peer id)')); return }
    clearTimeout(this._handshakeTimer)
    const theirs = decodeReserved(h.reserved)
    const ours = decodeReserved(this.reserved)
    this.state.negotiate({ fast: theirs.fast && ours.fast, extended: theirs.extended && ours.extended })
    const client = clientFromPeerId(h.peerId)
    this.peerHandshake = client === undefined ? { ...h, extensions: theirs } : { ...h, extensions: theirs, client }
    this._opened = true
    this._startTimers()
    const open = this._openCb
    this._openCb = undefined
    open?.(null)
    this._sendGreeting()
    this.emit('handshake', this.peerHandshake)
  }

  /** BEP 3/6: our piece summary first; then BEP 10: our extension handshake. */
  private _sendGreeting (): void {
    const have = this._opts.have
    if (have !== undefined) {
      if (this.fastEnabled && have.hasAll()) this.haveAll()
      else if (this.fastEnabled && have.hasNone()) this.haveNone()
      else if (!have.hasNone()) this.bitfield(have)
    }
    if (!this.extendedEnabled) return
    const x = this._opts.extensions ?? {}
    const ours: { -readonly [K in keyof ExtendedHandshake]: ExtendedHandshake[K] } = {
      m: x.m ?? {},
      v: x.version ?? CLIENT_NAME,
      reqq: x.reqq ?? DEFAULT_REQQ
    }
    if (x.port !== undefined) ours.p = x.port
    if (x.metadataSize !== undefined) ours.metadataSize = x.metadataSize
    const yourip = compactAddress((this.socket as { remoteAddress?: string }).remoteAddress)
    if (yourip !== undefined) ours.yourip = yourip
    this.ourExtendedHandshake = ours
    this.extended(EXTENDED_HANDSHAKE_ID, encodeExtendedHandshake(ours))
  }

  private _onMessage (m: Message): void {
    if (m.type === 'keepAlive') return
    const err = this.state.receive(m)
    if (err !== undefined) { this.destroy(err); return }
    if (m.type === 'extended' && m.id === EXTENDED_HANDSHAKE_ID) this.emit('extended-handshake', this.state.peerExtendedHandshake as ExtendedHandshake)
    if (!this.push(m) && !this._pausedSocket && !this.destroying) {
      this._pausedSocket = true
      this.socket.pause()
    }
  }

  private _refuseOutbound (m: Message): ProtocolError | undefined {
    switch (m.type) {
      case 'haveAll': case 'haveNone': case 'suggest': case 'reject': case 'allowedFast':
        return this.fastEnabled ? undefined : new ProtocolError(`cannot send ${m.type}: the peer did not negotiate BEP 6`)
      case 'extended':
        return this.extendedEnabled ? undefined : new ProtocolError('cannot send an extended message: the peer did not negotiate BEP 10')
      default: return undefined
    }
  }

  private _onDrain (): void {
    const cb = this._drainCb
    this._drainCb = undefined
    cb?.(null)
  }

  private _onSocketEnd (): void {
    if (!this._opened) { this.destroy(new ProtocolError('peer closed the connection during the handshake')); return }
    this.push(null)
  }

  private _onSocketClose (): void {
    if (this.destroying) return
    if (!this._opened) { this.destroy(new ProtocolError('connection closed during the handshake')); return }
    const drain = this._drainCb
    this._drainCb = undefined
    if (drain !== undefined) { drain(new ProtocolError('the connection closed while a write was pending')); return }
    // A clean end: let the consumer read what is buffered, then streamx closes us.
    this.push(null)
    this.end(undefined)
  }

  private _startTimers (): void {
    const keepAlive = this._opts.keepAliveInterval ?? DEFAULT_KEEP_ALIVE_INTERVAL
    const idle = this._opts.idleTimeout ?? DEFAULT_IDLE_TIMEOUT
    // A quarter of the shortest period: late by at most 25%, and a timer wake-up every ~30 s.
    this._tick = setInterval(() => {
      const now = Date.now()
      // While we hold the socket paused the silence is ours, not the peer's.
      if (this._pausedSocket) this._lastIn = now
      if (now - this._lastIn >= idle) { this.destroy(new ProtocolError(`idle: nothing received for ${idle} ms`)); return }
      if (now - this._lastOut >= keepAlive) { this._lastOut = now; this.keepAlive() }
    }, Math.max(1, Math.min(keepAlive, idle) / 4))
    this._tick.unref?.()
  }
}

/** BEP 10 `yourip`: the compact form of an address (4 or 16 bytes). */
function compactAddress (address: string | undefined): Uint8Array | undefined {
  if (address === undefined) return undefined
  const v4 = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address
  if (isIPv4(v4)) return Uint8Array.from(v4.split('.').map(Number))
  if (!isIPv6(address)) return undefined
  const [head = '', tail = ''] = address.split('::')
  const parts = (s: string): number[] => s === '' ? [] : s.split(':').map(h => parseInt(h, 16))
  const a = parts(head)
  const b = parts(tail)
  const words = address.includes('::') ? [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b] : a
  if (words.length !== 8 || words.some(w => !(w >= 0 && w <= 0xffff))) return undefined
  const out = new Uint8Array(16)
  words.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff })
  return out
}

/** Resolves with the peer's handshake once the connection opens; rejects with why it closed. */
export function waitForHandshake (conn: PeerConnection): Promise<PeerHandshake> {
  return new Promise((resolve, reject) => {
    if (conn.peerHandshake !== undefined) { resolve(conn.peerHandshake); return }
    let error: Error | undefined
    const onError = (err: Error): void => { error = err }
    const onClose = (): void => { cleanup(); reject(error ?? new ProtocolError('connection closed before the handshake')) }
    const onHandshake = (h: PeerHandshake): void => { cleanup(); resolve(h) }
    const cleanup = (): void => {
      conn.off('error', onError)
      conn.off('close', onClose)
      conn.off('handshake', onHandshake)
    }
    conn.on('error', onError)
    conn.on('close', onClose)
    conn.on('handshake', onHandshake)
  })
}
