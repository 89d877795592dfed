import { Socket } from 'node:net'
import { Duplex, type Duplex as NodeDuplex } from 'node:stream'
import { MseError } from './errors.js'
import { HandshakeReader } from './handshake-reader.js'
import { CRYPTO_RC4, initiateMse, respondMse, type InitiatorOptions, type MseResult, type ResponderOptions } from './mse-handshake.js'
import type { RC4 } from './rc4.js'
import { decryptorFor, type Decryptor } from './decrypt-thread.js'

/**
 * EncryptedStream: a Node Duplex of plaintext bytes over a socket that speaks MSE/PE, so the peer
 * Duplex (PeerConnection) runs over it exactly as over a socket. It runs the MSE handshake
 * itself, as initiator or responder, then decrypts what it reads and encrypts what it writes
 * (RC4 when selected; the bytes pass through when plaintext was).
 *
 * Initiator: build it and the PeerConnection over it at once. The PeerConnection's first write
 * (its 68-byte BitTorrent handshake) is held and goes out as the MSE initial payload (IA), so the
 * BitTorrent handshake rides in the same round trip as MSE step 3.
 * Responder: the initiator's IA comes out first on the read side, then the rest of the stream.
 *
 * Backpressure, both ways, nothing buffered without a bound:
 * - Read: decrypted chunks are pushed; when push() says the reader is full (`highWaterMark`), the
 *   socket is paused until _read() asks again. During the handshake the HandshakeReader pauses
 *   the socket itself past HANDSHAKE_READ_LIMIT.
 * - Write: a write completes when the socket took the bytes (with RC4: socket.write() true, or
 *   its 'drain'; plaintext over a net.Socket: once the socket wrote them, so a writer may reuse
 *   the buffer then, see `writeCallbackFrees`); until then Node holds later writes and write()
 *   returns false past `writableHighWaterMark`. During the handshake the first write waits (its callback held).
 *   Decryption is in place (socket chunks are ours); encryption copies (a block we send may be
 *   shared with the cache).
 *
 * Lifetime: any handshake failure, the socket ending or stalling in the handshake (past
 * `handshakeTimeout`) destroys the stream with an MseError; a socket error destroys it with that
 * error; destroying it destroys the socket.
 */
export const DEFAULT_MSE_HANDSHAKE_TIMEOUT = 10_000
/**
 * The most the responder may need at once: Ya, PadA, two hashes, the 14-byte header, PadC and a
 * 64 KiB IA; round up. Past it the socket is paused until the handshake reads on.
 */
export const HANDSHAKE_READ_LIMIT = 96 * 1024
/** Our IA: the BitTorrent handshake (68 bytes) is all a PeerConnection writes before the peer's arrives. */
export const OUR_MAX_INITIAL_PAYLOAD = 68
const DEFAULT_HIGH_WATER_MARK = 64 * 1024

export type MseRole =
  | ({ readonly role: 'initiator' } & Omit<InitiatorOptions, 'initialPayload'>)
  | ({ readonly role: 'responder', readonly head?: Uint8Array } & ResponderOptions)

export type EncryptedStreamOptions = MseRole & {
  readonly handshakeTimeout?: number
  readonly highWaterMark?: number
  /** Decrypt RC4 on the shared decrypting thread (decrypt-thread.ts); default true. */
  readonly decryptOffThread?: boolean
}

/**
 * Chunks (socket reads, up to 64 KiB each) at the decrypting thread at once, per connection:
 * past this the socket is paused until they come back, so a slow thread bounds what we read.
 */
const MAX_DECRYPTS_IN_FLIGHT = 16

interface HeldWrite { chunks: Uint8Array[], cb: (err?: Error | null) => void }

export class EncryptedStream extends Duplex {
  readonly socket: NodeDuplex
  /** Set when the MSE handshake finished. */
  mse: MseResult | undefined
  private readonly _reader: HandshakeReader
  private _encrypt: RC4 | undefined
  private _decrypt: Decryptor | undefined
  private readonly _decryptOffThread: boolean
  /** The reader said stop (push returned false); cleared when it reads again. */
  private _readerFull = false
  /** The socket ended while chunks were still being decrypted: end once they are pushed. */
  private _endAfterDecrypts = false
  private _held: HeldWrite | undefined
  private _drainCb: ((err?: Error | null) => void) | undefined
  private _socketPaused = false
  private _socketEnded = false
  /**
   * A write's callback means the bytes are held no more (peer-connection.ts writeCallbackFrees):
   * RC4 copies what it is given; plaintext completes a write only when the net.Socket's does.
   */
  readonly writeCallbackFrees: boolean
  private readonly _timer: ReturnType<typeof setTimeout>
  private readonly _onSocket: Array<[string, (...args: any[]) => void]>

  constructor (socket: NodeDuplex, opts: EncryptedStreamOptions) {
    const hwm = opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK
    super({ readableHighWaterMark: hwm, writableHighWaterMark: hwm, allowHalfOpen: false })
    this.socket = socket
    this.writeCallbackFrees = socket instanceof Socket
    this._decryptOffThread = opts.decryptOffThread ?? true
    this._reader = new HandshakeReader({ pause: () => { socket.pause() }, resume: () => { socket.resume() } }, HANDSHAKE_READ_LIMIT)
    const timeout = opts.handshakeTimeout ?? DEFAULT_MSE_HANDSHAKE_TIMEOUT
    this._timer = setTimeout(() => { this.destroy(new MseError(`MSE: handshake not done within ${timeout} ms`)) }, timeout)
    this._timer.unref?.()
    this._onSocket = [
      ['data', (chunk: Uint8Array) => { this._onData(chunk) }],
      ['end', () => { this._onEnd() }],
      ['error', (err: Error) => { this.destroy(err) }],
      ['close', () => { this._onClose() }],
      ['drain', () => { const cb = this._drainCb; this._drainCb = undefined; cb?.(null) }]
    ]
    for (const [event, fn] of this._onSocket) socket.on(event, fn)
    const io = { reader: this._reader, send: (b: Uint8Array) => { socket.write(b) } }
    let done: Promise<MseResult>
    if (opts.role === 'initiator') {
      done = initiateMse(io, { ...opts, initialPayload: () => this._takeInitialPayload() })
    } else {
      if (opts.head !== undefined && opts.head.length > 0) this._reader.push(opts.head)
      done = respondMse(io, opts)
    }
    done.then((r) => { this._onHandshake(r) }, (err: Error) => { this.destroy(err) })
    // The sniffing listener may have paused it; from here on the flow is ours.
    socket.resume()
    if ((socket as { destroyed?: boolean }).destroyed === true) queueMicrotask(() => { this.destroy(new MseError('MSE: the connection closed before the handshake')) })
  }

  /** The socket's peer address, for whoever reads it off the connection (BEP 10 `yourip`). */
  get remoteAddress (): string | undefined { return (this.socket as { remoteAddress?: string }).remoteAddress }
  get remotePort (): number | undefined { return (this.socket as { remotePort?: number }).remotePort }
  setNoDelay (noDelay?: boolean): this {
    (this.socket as { setNoDelay?: (v?: boolean) => unknown }).setNoDelay?.(noDelay)
    return this
  }

  /**
   * The socket itself, for a writer that wants to skip this stream: once MSE settled on plaintext
   * over a net.Socket and nothing written to us is still queued or on its way (so bytes written to
   * the socket from now on follow every byte written to us). Undefined otherwise: RC4 must pass
   * through us, and a socket that is not a net.Socket may call a write's callback before it is
   * done with the bytes (`writeCallbackFrees`). A writer that takes it writes only to it from then
   * on; reading, errors and closing still go through us.
   */
  plaintextSocket (): NodeDuplex | undefined {
    if (this.mse === undefined || this._encrypt !== undefined || !this.writeCallbackFrees) return undefined
    if (this._held !== undefined || this._drainCb !== undefined || this.writableLength > 0 || this.writableEnded || this.destroyed) return undefined
    return this.socket
  }

  override _read (): void {
    this._readerFull = false
    this._updateFlow()
  }

  /** The socket reads while the reader wants more and the decrypting thread keeps up. */
  private _updateFlow (): void {
    const pause = this._readerFull || (this._decrypt?.pending ?? 0) >= MAX_DECRYPTS_IN_FLIGHT
    if (pause === this._socketPaused || this.destroyed) return
    this._socketPaused = pause
    if (pause) this.socket.pause()
    else this.socket.resume()
  }

  override _write (chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this._writev([{ chunk }], cb)
  }

  override _writev (items: Array<{ chunk: Uint8Array }>, cb: (err?: Error | null) => void): void {
    const chunks = items.map(i => i.chunk)
    if (this.mse === undefined) { this._held = { chunks, cb }; return }
    this._send(chunks, cb)
  }

  override _final (cb: (err?: Error | null) => void): void {
    this.socket.end()
    cb(null)
  }

  override _destroy (err: Error | null, cb: (err: Error | null) => void): void {
    clearTimeout(this._timer)
    this._decrypt?.close()
    this._reader.fail(err ?? new MseError('MSE: the connection closed'))
    // The 'error' listener stays: the socket may still report one as it goes.
    for (const [event, fn] of this._onSocket) if (event !== 'error') this.socket.off(event, fn)
    this.socket.destroy()
    const held = this._held
    this._held = undefined
    held?.cb(err ?? new MseError('MSE: the connection closed'))
    const drain = this._drainCb
    this._drainCb = undefined
    drain?.(err ?? new MseError('MSE: the connection closed'))
    cb(err)
  }

  /** Step 3 needs the IA now: the held first write, up to OUR_MAX_INITIAL_PAYLOAD bytes of it. */
  private _takeInitialPayload (): Uint8Array {
    const held = this._held
    if (held === undefined) return new Uint8Array(0)
    const parts: Uint8Array[] = []
    let room = OUR_MAX_INITIAL_PAYLOAD
    while (room > 0 && held.chunks.length > 0) {
      const c = held.chunks[0] as Uint8Array
      if (c.length <= room) { parts.push(c); room -= c.length; held.chunks.shift() } else { parts.push(c.subarray(0, room)); held.chunks[0] = c.subarray(room); room = 0 }
    }
    return Buffer.concat(parts)
  }

  private _onHandshake (r: MseResult): void {
    if (this.destroyed) return
    clearTimeout(this._timer)
    this.mse = r
    this._encrypt = r.encrypt
    if (r.decrypt !== undefined) this._decrypt = decryptorFor(r.decrypt, this._decryptOffThread)
    if (r.initialPayload.length > 0) this.push(r.initialPayload)
    const rest = this._reader.drain()
    if (rest.length > 0) this._onData(rest)
    const held = this._held
    this._held = undefined
    if (held !== undefined) {
      if (held.chunks.length > 0) this._send(held.chunks, held.cb)
      else held.cb(null)
    }
    this.emit('mse', r)
  }

  private _send (chunks: Uint8Array[], cb: (err?: Error | null) => void): void {
    const socket = this.socket
    if (socket.destroyed || !socket.writable) { cb(new MseError('MSE: the connection is closed')); return }
    let ok: boolean
    const enc = this._encrypt
    if (enc === undefined) {
      // The bytes pass as they are: the write completes when the socket's last one does, so our
      // writes' callbacks come once the socket holds their bytes no more (writeCallbackFrees).
      // Node keeps later writes until then and writes them as one batch, as the socket would.
      if (this.writeCallbackFrees) {
        socket.cork()
        for (let i = 0; i < chunks.length - 1; i++) socket.write(chunks[i] as Uint8Array)
        socket.write(chunks[chunks.length - 1] as Uint8Array, (err?: Error | null) => { cb(err ?? null) })
        socket.uncork()
        return
      }
      socket.cork()
      ok = true
      for (const c of chunks) ok = socket.write(c)
      socket.uncork()
    } else {
      // One buffer for the batch (a piece's header and block): one copy, one cipher pass, one write.
      let n = 0
      for (const c of chunks) n += c.length
      const out = new Uint8Array(n)
      let at = 0
      for (const c of chunks) { out.set(c, at); at += c.length }
      enc.update(out)
      ok = socket.write(out)
    }
    if (ok) cb(null)
    else this._drainCb = cb
  }

  private _onData (chunk: Uint8Array): void {
    if (this.mse === undefined) { this._reader.push(chunk); return }
    const decrypt = this._decrypt
    if (decrypt === undefined) { this._deliver(chunk); return }
    decrypt.decrypt(chunk, (err, plain) => {
      if (this.destroyed) return
      if (err !== null || plain === undefined) { this.destroy(new MseError(`MSE: decrypting failed: ${err?.message ?? 'no data'}`)); return }
      this._deliver(plain)
      if (this._endAfterDecrypts && decrypt.pending === 0) this.push(null)
    })
    this._updateFlow()
  }

  private _deliver (plain: Uint8Array): void {
    if (!this.push(plain)) this._readerFull = true
    this._updateFlow()
  }

  private _onEnd (): void {
    if (this.mse === undefined) { this.destroy(new MseError('MSE: the peer closed the connection during the handshake')); return }
    this._socketEnded = true
    if ((this._decrypt?.pending ?? 0) > 0) this._endAfterDecrypts = true
    else this.push(null)
  }

  private _onClose (): void {
    if (this.mse === undefined) { this.destroy(new MseError('MSE: the connection closed during the handshake')); return }
    // After the peer's clean end the reader still gets what is buffered (autoDestroy closes us
    // once both sides are done); a close without that end is abrupt.
    if (!this._socketEnded) { this.destroy(); return }
    const drain = this._drainCb
    this._drainCb = undefined
    drain?.(new MseError('MSE: the connection closed while a write was pending'))
  }
}

/**
 * What a connection's transport is, for stats and PEX (BEP 11 flag 0x01): pass `conn.socket`.
 * 'mse-plaintext': MSE handshake, then plaintext (header obfuscation only).
 */
export function encryptionOf (socket: unknown): 'rc4' | 'mse-plaintext' | 'none' {
  if (!(socket instanceof EncryptedStream) || socket.mse === undefined) return 'none'
  return socket.mse.method === CRYPTO_RC4 ? 'rc4' : 'mse-plaintext'
}
