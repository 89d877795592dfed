import { Socket } from 'node:net'
import type { Duplex as NodeDuplex } from 'node:stream'
import { Duplex, type DuplexEvents } from 'streamx'
import { copyBytes } from '../util/copy-bytes.js'
import { BtStreamError, ProtocolError } from '../util/errors.js'
import type { BitField } from './bitfield.js'
import { frameSize } from './decoder.js'
import { encodedLength, encodeMessage, encodeRequests } from './encoder.js'
import { compactAddress, encodeExtendedHandshake, EXTENDED_HANDSHAKE_ID, type ExtendedHandshake } from './extended-handshake.js'
import { decodeReserved, encodeHandshake, encodeReserved, equalBytes, toHex, type Handshake } from './handshake.js'
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_KEEP_ALIVE_INTERVAL, DEFAULT_REQQ, type PeerConnectionOptions, type PeerHandshake } from './peer-connection-options.js'
import { Liveness } from './liveness.js'
import type { Message } from './messages.js'
import { WireParser } from './parser.js'
import { clientFromPeerId, CLIENT_NAME, generatePeerId } from './peer-id.js'
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
export type { OurExtensions, PeerConnectionOptions, PeerHandshake } from './peer-connection-options.js'
const DEFAULT_HIGH_WATER_MARK = 256 * 1024

/** A block request as requests() takes it (the engine's BlockRequest is one). */
export interface RequestRef { readonly index: number, readonly begin: number, readonly length: number }

export interface PeerConnectionEvents extends DuplexEvents {
  handshake: [PeerHandshake]
  'extended-handshake': [ExtendedHandshake]
}

/** Our own code failed on a peer's message: the peer is dropped, and the reason says it was us. */
export class InternalPeerError extends BtStreamError {}

/** The peer's handshake carried our own peer id: we dialed ourselves (a tracker gave us our address). */
export class SelfConnectionError extends ProtocolError {}

/**
 * A transport that can hand over the socket below it (EncryptedStream once MSE settled on
 * plaintext): our writes then go to that socket straight, one stream layer fewer per block.
 */
interface PassThroughTransport { plaintextSocket?: () => NodeDuplex | undefined }

/** A piece written with a `sent` callback (PeerConnection.piece). */
interface SentPiece { readonly sent?: () => void }

/**
 * Whether `socket` calls a write's callback only once nothing of it holds the written bytes: a
 * net.Socket does (after libuv's write completed, or failed); a stream that says so with
 * `writeCallbackFrees` (EncryptedStream over a net.Socket) does too. Others (uTP, test pairs) may
 * call it while still holding the bytes: a block written there is never reported sent.
 */
export function writeCallbackFrees (socket: NodeDuplex): boolean {
  return socket instanceof Socket || (socket as { readonly writeCallbackFrees?: unknown }).writeCallbackFrees === true
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
  /** BEP 52: we dialed a hybrid's v1 hash and the peer answered with its truncated v2 hash. */
  upgradedToV2 = false
  /** The first error the connection closed with (null: none, or not closed yet). */
  closeReason: Error | null = null

  private _infoHash: Uint8Array | undefined
  private readonly _opts: PeerConnectionOptions
  private readonly _parser: WireParser
  private _openCb: ((err: Error | null) => void) | undefined
  private _opened = false
  private _pausedSocket = false
  private _drainCb: ((err: Error | null) => void) | undefined
  /**
   * Where our writes go: the socket, or the one below it once the transport handed it over
   * (PassThroughTransport); reading, errors and closing stay with `socket`.
   */
  private _out: NodeDuplex
  private readonly _onOutDrain = (): void => { this._onDrain() }
  /** The socket calls a write's callback only once it holds the bytes no more: `piece`'s `sent` works. */
  private readonly _writeCallbackFrees: boolean
  /** The owner's handler once it consumes (consume()): messages go to it straight from the parser. */
  private _direct: ((m: Message) => void) | undefined
  private readonly _handshakeTimer: ReturnType<typeof setTimeout>
  private readonly _liveness: Liveness
  private readonly _listeners: Array<[string, (...args: any[]) => void]>
  /** requests() of this event-loop turn, written together at its end. */
  private _queuedRequests: RequestRef[] = []
  private _requestFlush: ReturnType<typeof setImmediate> | undefined

  constructor (socket: NodeDuplex, opts: PeerConnectionOptions = {}) {
    super({
      eagerOpen: true,
      highWaterMark: opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
      byteLengthReadable: frameSize,
      byteLengthWritable: (m: unknown) => m instanceof Uint8Array ? m.byteLength : encodedLength(m as Message)
    })
    if (opts.infoHash === undefined && opts.accept === undefined) throw new TypeError('PeerConnection needs infoHash (outbound) or accept (inbound)')
    this.socket = socket
    this._out = socket
    this._writeCallbackFrees = writeCallbackFrees(socket)
    this._opts = opts
    this._infoHash = opts.infoHash
    this.peerId = opts.peerId ?? generatePeerId()
    this.reserved = encodeReserved({ extended: opts.extended ?? true, fast: opts.fast ?? true, dht: opts.dht ?? false, v2: opts.v2 ?? false })
    this.state = new PeerState(opts.pieceCount)
    // The connection keeps its own 'error' listener for its whole life: bytes that arrive while
    // it passes from one owner to the next (the handshake waiter to the engine) can destroy it at
    // any moment, and an 'error' without a listener would end the process. Owners read the reason
    // with whenClosed() instead of racing for the event.
    this.on('error', (err: Error) => { this.closeReason ??= err })
    this._parser = new WireParser({
      handshake: (h) => { this._onHandshake(h) },
      message: (m) => { this._onMessage(m) },
      error: (err) => { this.destroy(err) }
    }, opts)
    const timeout = opts.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT
    this._handshakeTimer = setTimeout(() => { this.destroy(new ProtocolError(`no handshake within ${timeout} ms`)) }, timeout)
    this._handshakeTimer.unref?.()
    const idle = opts.idleTimeout ?? DEFAULT_IDLE_TIMEOUT
    this._liveness = new Liveness({
      keepAliveInterval: opts.keepAliveInterval ?? DEFAULT_KEEP_ALIVE_INTERVAL,
      idleTimeout: idle,
      readingPaused: () => this._pausedSocket,
      // A write still waiting for the socket says we are alive already; queueing a keep-alive
      // behind it would grow a queue the peer does not read, every interval, for as long as it lives.
      sendKeepAlive: () => { if (this._drainCb === undefined && this.writableBufferedBytes === 0) this.keepAlive() },
      idle: () => { this.destroy(new ProtocolError(`idle: nothing received for ${idle} ms`)) }
    })
    this._listeners = [
      ['data', (chunk: Uint8Array) => { this._liveness.received(); this._receive(chunk) }],
      ['end', () => { this._onSocketEnd() }],
      ['error', (err: Error) => { this.destroy(err) }],
      ['close', () => { this._onSocketClose() }],
      ['drain', () => { this._onDrain() }]
    ]
    for (const [event, fn] of this._listeners) socket.on(event, fn)
    opts.reads?.attach(
      chunk => { this._liveness.received(); this._receiveBorrowed(chunk) },
      chunk => { this._liveness.received(); this._receive(chunk) })
    // A socket that closed before we took it will never say so again.
    if ((socket as { destroyed?: boolean }).destroyed === true) queueMicrotask(() => { this.destroy(new ProtocolError('connection closed before the handshake')) })
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
  /** Bytes we wrote that the socket has not taken yet: our queue plus the socket's own buffer. */
  get writableBufferedBytes (): number {
    const ws = (this as unknown as { _writableState: { buffered: number } })._writableState
    const below = this._out === this.socket ? 0 : this._out.writableLength
    return ws.buffered + ((this.socket as { writableLength?: number }).writableLength ?? 0) + below
  }

  /** Messages waiting in our write queue (each holds an object besides its bytes). */
  get writableBufferedMessages (): number {
    const ws = (this as unknown as { _writableState: { queue: { length: number } } })._writableState
    return ws.queue.length
  }

  /** True while we stopped reading the socket because the consumer is behind. */
  get socketPaused (): boolean { return this._pausedSocket }

  /**
   * Calls `fn` once the connection has closed, with the error it closed with (null for a clean
   * end). A connection that already closed calls it on the next microtask: an owner that attaches
   * late still hears about it.
   */
  whenClosed (fn: (reason: Error | null) => void): void {
    if (this.destroyed) queueMicrotask(() => { fn(this.closeReason) })
    else this.once('close', () => { fn(this.closeReason) })
  }

  /**
   * Reads every message with `onMessage`: those already queued first, in order, then each one as
   * the parser finishes it, without the readable queue in between (the engine handles a message
   * synchronously and its memory bound is the request window, so the queue bought nothing and
   * cost a push, a microtask and an emit per 16 KiB block). Whatever the handler throws on a
   * peer's message costs this connection, never the process: the throw would otherwise escape
   * from a socket event.
   */
  consume (onMessage: (m: Message) => void): void {
    const deliver = (m: Message): void => {
      try {
        onMessage(m)
      } catch (err) {
        this.destroy(new InternalPeerError(`internal error on a ${m.type} message: ${err instanceof Error ? err.message : String(err)}`, { cause: err }))
      }
    }
    for (let m = this.read() as Message | null; m !== null && !this.destroying; m = this.read() as Message | null) deliver(m)
    this._direct = deliver
    // The readable side stays flowing (it is empty now): its end and close come as before.
    this.resume()
    if (this._pausedSocket) {
      this._pausedSocket = false
      this.socket.resume()
    }
  }

  /** Metadata arrived (magnet): bounds and the peer's pieces become exact. */
  setPieceCount (pieceCount: number): void {
    this._parser.setPieceCount(pieceCount)
    const err = this.state.setPieceCount(pieceCount)
    if (err !== undefined) this.destroy(err)
  }

  override write (m: Message): boolean {
    // Requests queued earlier this turn go first: a cancel must not overtake its request.
    if (this._queuedRequests.length > 0) this._flushRequests()
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
  /**
   * Many requests as one write: encoded back to back into one buffer, so a top-up of 30 requests
   * costs one queue entry and one small allocation instead of 30 of each (a 1 GiB download sends
   * 65536 requests). The write waits for the end of this event-loop turn (setImmediate), so the
   * top-ups of every block read in one turn leave as one: each block arriving tops its peer up,
   * and a 64 KiB socket read holds four of them. On loopback with 4 seeders and 64 KiB pieces
   * that cut our request writes per GiB from ~8200 to ~500. Any other message flushes them first,
   * so the order on the wire is the order of the calls. Returns false, and drops them, once the
   * connection is being destroyed; requests are never held back for 'drain' (17 bytes each, and
   * the caller bounds how many it has in flight).
   */
  requests (list: readonly RequestRef[]): boolean {
    if (this.destroying) return false
    if (list.length === 0) return true
    const queued = this._queuedRequests
    for (const r of list) queued.push(r)
    this._requestFlush ??= setImmediate(this._flushRequests)
    return true
  }

  /** Writes the queued requests now; once the connection is being destroyed, drops them. */
  private readonly _flushRequests = (): void => {
    if (this._requestFlush !== undefined) clearImmediate(this._requestFlush)
    this._requestFlush = undefined
    const list = this._queuedRequests
    if (list.length === 0) return
    this._queuedRequests = []
    if (!this.destroying) super.write(encodeRequests(list))
  }

  override end (data?: unknown): this {
    this._flushRequests()
    return super.end(data)
  }
  /**
   * The block is written as is after a 13-byte header: never copied. `sent` is called once the
   * socket holds the block's bytes no more (it wrote them, or failed), so its buffer may be
   * reused (lib/seed/read-ahead.ts); or never, when the socket cannot tell (see writeCallbackFrees).
   */
  piece (index: number, begin: number, block: Uint8Array, sent?: () => void): boolean {
    if (sent === undefined || !this._writeCallbackFrees) return this.write({ type: 'piece', index, begin, block })
    const m: Message & SentPiece = { type: 'piece', index, begin, block, sent }
    return this.write(m)
  }
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
    const socket = this._writeTarget()
    // The transport closes for us too when the socket below it took our writes.
    if (!isOpen(this.socket) || !isOpen(socket)) { cb(new ProtocolError('the connection is closed')); return }
    let ok = true
    socket.cork()
    for (const item of batch) {
      // Pre-encoded requests (requests()): nothing to check, they are requests.
      if (item instanceof Uint8Array) { ok = socket.write(item); continue }
      const m = item as Message
      const refused = this._refuseOutbound(m)
      if (refused !== undefined) { socket.uncork(); cb(refused); return }
      const e = encodeMessage(m)
      ok = socket.write(e.head)
      const sent = (m as SentPiece).sent
      if (sent !== undefined) ok = socket.write(e.body as Uint8Array, sent)
      else if (e.body !== undefined && e.body.length > 0) ok = socket.write(e.body)
      if (m.type === 'piece') this.uploaded += m.block.length
    }
    socket.uncork()
    this._liveness.sent()
    if (ok) cb(null)
    else this._drainCb = cb
  }

  /**
   * The socket below an EncryptedStream that settled on plaintext, once it offers it: every block
   * then skips that stream's own queue (a Writable's buffering, callbacks and a cork per batch).
   * Its 'drain' is ours from then on, since the transport sees none of our writes.
   */
  private _writeTarget (): NodeDuplex {
    if (this._out !== this.socket) return this._out
    const below = (this.socket as PassThroughTransport).plaintextSocket?.()
    if (below === undefined) return this.socket
    this._out = below
    below.on('drain', this._onOutDrain)
    return below
  }

  override _final (cb: (err: Error | null) => void): void {
    this.socket.end()
    cb(null)
  }

  override _destroy (cb: (err: Error | null) => void): void {
    clearTimeout(this._handshakeTimer)
    this._liveness.stop()
    for (const [event, fn] of this._listeners) if (event !== 'error') this.socket.off(event, fn)
    if (this._out !== this.socket) this._out.off('drain', this._onOutDrain)
    this.socket.destroy()
    cb(null)
  }

  /**
   * streamx runs _destroy only once a pending _open or write finished: finish them now. Queued
   * requests are dropped (the flush sees the connection being destroyed).
   */
  override _predestroy (): void {
    this._flushRequests()
    const drain = this._drainCb
    this._drainCb = undefined
    drain?.(new ProtocolError('the connection is closed'))
    const open = this._openCb
    this._openCb = undefined
    open?.(new ProtocolError('closed during the handshake'))
  }

  /** Every byte from the network enters here: nothing it triggers may throw past the socket. */
  private _receive (chunk: Uint8Array): void {
    try {
      this._parser.write(chunk)
    } catch (err) {
      this.destroy(err instanceof Error ? err : new ProtocolError(String(err)))
    }
  }

  /**
   * A read lent for this call only (BorrowedReads). Once the owner takes messages as the parser
   * makes them (consume()), they are parsed in place; until then they wait in the readable queue,
   * so they need bytes of their own.
   */
  private _receiveBorrowed (chunk: Uint8Array): void {
    if (this._direct === undefined) { this._receive(copyBytes(chunk)); return }
    try {
      this._parser.writeBorrowed(chunk)
    } catch (err) {
      this.destroy(err instanceof Error ? err : new ProtocolError(String(err)))
    }
  }

  private _sendHandshake (infoHash: Uint8Array): void {
    this.socket.write(encodeHandshake({ reserved: this.reserved, infoHash, peerId: this.peerId }))
    this._liveness.sent()
  }

  private _onHandshake (h: Handshake): void {
    if (this.destroying) return
    if (this._infoHash !== undefined) {
      const upgrade = this._opts.upgradeInfoHash
      if (upgrade !== undefined && equalBytes(h.infoHash, upgrade)) {
        // BEP 52: the peer moved this connection to the hybrid's v2 swarm; it is that hash's now.
        this._infoHash = h.infoHash
        this.upgradedToV2 = true
      } else if (!equalBytes(h.infoHash, this._infoHash)) {
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
    if (equalBytes(h.peerId, this.peerId)) { this.destroy(new SelfConnectionError('connected to ourselves (same peer id)')); return }
    clearTimeout(this._handshakeTimer)
    const theirs = decodeReserved(h.reserved)
    const ours = decodeReserved(this.reserved)
    this.state.negotiate({ fast: theirs.fast && ours.fast, extended: theirs.extended && ours.extended })
    const client = clientFromPeerId(h.peerId)
    this.peerHandshake = client === undefined ? { ...h, extensions: theirs } : { ...h, extensions: theirs, client }
    this._opened = true
    this._liveness.start()
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
    // The rest of a chunk may still be parsed after a violation destroyed us: drop it.
    if (m.type === 'keepAlive' || this.destroying) return
    const err = this.state.receive(m)
    if (err !== undefined) { this.destroy(err); return }
    if (m.type === 'extended' && m.id === EXTENDED_HANDSHAKE_ID) this.emit('extended-handshake', this.state.peerExtendedHandshake as ExtendedHandshake)
    if (this._direct !== undefined) { this._direct(m); return }
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
}

function isOpen (s: NodeDuplex): boolean {
  return !s.destroyed && s.writable
}
