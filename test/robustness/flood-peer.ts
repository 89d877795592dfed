/**
 * A raw peer for flood tests: it speaks just enough of the wire to be accepted (BEP 3 handshake,
 * optionally a BEP 10 handshake), then stops reading its socket for good and writes the same
 * frame again and again in large batches. Everything we answer piles up on our side: in our
 * PeerConnection's write queue and our socket's buffer, once the kernel buffers are full.
 */
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { encodeMessage } from '../../lib/wire/encoder.js'
import { encodeExtendedHandshake, type ExtendedHandshake } from '../../lib/wire/extended-handshake.js'
import { encodeHandshake, encodeReserved, HANDSHAKE_LENGTH } from '../../lib/wire/handshake.js'
import type { Message } from '../../lib/wire/messages.js'

/** Batches of about this many bytes per write(): what a flooder would do to go fast. */
const BATCH_BYTES = 1024 * 1024

export function wire (m: Message): Uint8Array {
  const e = encodeMessage(m)
  return e.body === undefined ? e.head : Buffer.concat([e.head, e.body])
}

export interface RawPeerOptions {
  readonly fast: boolean
  readonly extended: boolean
  /** Our BEP 10 handshake (sent right after the BEP 3 one when `extended`). */
  readonly extendedHandshake?: ExtendedHandshake
  /** Frames written in the same write() as the handshake. */
  readonly after?: readonly Uint8Array[]
  readonly peerId?: Uint8Array
}

export interface FloodResult {
  /** Frames written before we stopped (all of them, unless the other side closed). */
  readonly written: number
  /** The other side closed the connection (it dropped us). */
  readonly closedByPeer: boolean
}

export class RawPeer {
  closed = false
  private constructor (readonly socket: Socket) {
    socket.on('error', () => {})
    socket.once('close', () => { this.closed = true })
  }

  /** As the dialing side: connects, handshakes, reads the answer's handshake, then never reads again. */
  static async dial (port: number, infoHash: Uint8Array, opts: RawPeerOptions): Promise<RawPeer> {
    const socket = netConnect({ host: '127.0.0.1', port })
    const peer = new RawPeer(socket)
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    socket.write(Buffer.concat(greeting(infoHash, opts)))
    await peer._handshakeThenStopReading()
    return peer
  }

  /** As the dialed side (a download connects to us): answers the handshake, then never reads again. */
  static async listen (infoHash: Uint8Array, opts: RawPeerOptions): Promise<{ port: number, peer: Promise<RawPeer>, server: Server }> {
    const server = createServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const addr = server.address()
    if (addr === null || typeof addr === 'string') throw new Error('no address')
    const peer = new Promise<RawPeer>((resolve) => {
      server.once('connection', (socket) => {
        const p = new RawPeer(socket)
        socket.write(Buffer.concat(greeting(infoHash, opts)))
        p._handshakeThenStopReading().then(() => resolve(p), () => resolve(p))
      })
    })
    return { port: addr.port, peer, server }
  }

  /**
   * Writes `frame` `count` times in batches of ~1 MiB, waiting for our own socket's 'drain' (the
   * other side reads: we are the ones who never do). Stops early when the other side closes.
   */
  async flood (frame: Uint8Array, count: number): Promise<FloodResult> {
    const per = Math.max(1, Math.min(count, Math.floor(BATCH_BYTES / frame.length)))
    const batch = Buffer.alloc(per * frame.length)
    for (let i = 0; i < per; i++) batch.set(frame, i * frame.length)
    let written = 0
    while (written < count && !this.closed) {
      const n = Math.min(per, count - written)
      const ok = this.socket.write(n === per ? batch : batch.subarray(0, n * frame.length))
      written += n
      if (!ok) await this._drainOrClose()
    }
    return { written, closedByPeer: this.closed }
  }

  close (): void { this.socket.destroy() }

  private _drainOrClose (): Promise<void> {
    return new Promise(resolve => {
      const done = (): void => { this.socket.off('drain', done); this.socket.off('close', done); resolve() }
      this.socket.once('drain', done)
      this.socket.once('close', done)
    })
  }

  /** Reads the first 68 bytes (the other side's handshake), then pauses the socket for good. */
  private _handshakeThenStopReading (): Promise<void> {
    return new Promise((resolve, reject) => {
      let got = 0
      const onData = (chunk: Buffer): void => {
        got += chunk.length
        if (got < HANDSHAKE_LENGTH) return
        this.socket.off('data', onData)
        this.socket.off('close', onClose)
        this.socket.pause()
        resolve()
      }
      const onClose = (): void => { reject(new Error('closed before the handshake')) }
      this.socket.on('data', onData)
      this.socket.once('close', onClose)
    })
  }
}

function greeting (infoHash: Uint8Array, opts: RawPeerOptions): Uint8Array[] {
  const peerId = opts.peerId ?? Buffer.from('-XX0001-flood-peer01')
  const parts: Uint8Array[] = [encodeHandshake({ reserved: encodeReserved({ extended: opts.extended, fast: opts.fast, dht: false }), infoHash, peerId })]
  if (opts.extended) parts.push(wire({ type: 'extended', id: 0, payload: encodeExtendedHandshake(opts.extendedHandshake ?? { m: { ut_metadata: 3, ut_pex: 4 } }) }))
  parts.push(...(opts.after ?? []))
  return parts
}

/** `gc()` without the --expose-gc flag (node --test starts the file's process for us). */
export const gc: () => void = (() => {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
})()

export interface MemoryPeak {
  /** Largest growth of the resident set seen while sampling (bytes). */
  readonly rss: number
  /** Largest growth of live JS heap + ArrayBuffers seen while sampling (bytes, garbage included). */
  readonly heap: number
}

/**
 * Samples process.memoryUsage() every few ms from a baseline taken after a full GC. `retained()`
 * collects garbage first and reports what is still held.
 */
export class MemoryWatch {
  private readonly _base: NodeJS.MemoryUsage
  private _rss = 0
  private _heap = 0
  private readonly _timer: ReturnType<typeof setInterval>

  constructor (everyMs = 5) {
    gc()
    this._base = process.memoryUsage()
    this._timer = setInterval(() => { this.sample() }, everyMs)
  }

  sample (): void {
    const m = process.memoryUsage()
    this._rss = Math.max(this._rss, m.rss - this._base.rss)
    this._heap = Math.max(this._heap, m.heapUsed + m.arrayBuffers - this._base.heapUsed - this._base.arrayBuffers)
  }

  get peak (): MemoryPeak { this.sample(); return { rss: this._rss, heap: this._heap } }

  /** Live JS heap + ArrayBuffers beyond the baseline after a full GC (bytes). */
  retained (): number {
    gc()
    const m = process.memoryUsage()
    return m.heapUsed + m.arrayBuffers - this._base.heapUsed - this._base.arrayBuffers
  }

  stop (): void { clearInterval(this._timer) }
}

export const MiB = 1024 * 1024
