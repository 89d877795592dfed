import type { PieceReader } from '../../lib/seed/uploader.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { waitForHandshake } from '../../lib/wire/connect.js'
import type { Message } from '../../lib/wire/messages.js'
import { PeerConnection } from '../../lib/wire/peer-connection.js'
import { socketPair } from '../wire/helpers.js'

/** A torrent's bytes in memory, read the way storage will be: piece, offset, length. */
export class MemoryReader implements PieceReader {
  reads = 0
  constructor (readonly data: Uint8Array, readonly pieceLength: number) {}
  async read (index: number, begin: number, length: number): Promise<Uint8Array> {
    this.reads++
    const start = index * this.pieceLength + begin
    if (start + length > this.data.length) throw new RangeError(`read past the end: ${start}+${length}`)
    return this.data.subarray(start, start + length)
  }
}

/** A MemoryReader that also reads into the caller's buffer (what FileStorage does): the read-ahead then reuses its buffers. */
export class MemoryIntoReader extends MemoryReader {
  /** Fails every readInto of this piece (a file that ends early). */
  failPiece = -1
  async readInto (index: number, begin: number, into: Uint8Array): Promise<void> {
    if (index === this.failPiece) { this.reads++; throw new Error('ends early') }
    into.set(await this.read(index, begin, into.length))
  }
}

/** Holds every read until `release()`: tests decide when the disk answers. */
export class GatedReader implements PieceReader {
  started = 0
  private _waiting: Array<() => void> = []
  private _open = false
  constructor (readonly inner: PieceReader) {}
  async read (index: number, begin: number, length: number): Promise<Uint8Array> {
    this.started++
    if (!this._open) await new Promise<void>(resolve => this._waiting.push(resolve))
    return await this.inner.read(index, begin, length)
  }

  release (): void {
    this._open = true
    const w = this._waiting
    this._waiting = []
    for (const f of w) f()
  }
}

/** Deterministic bytes: byte i of the torrent is a function of i. */
export function torrentBytes (length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (i * 131 + (i >>> 8) * 7) & 0xff
  return out
}

export const INFO_HASH = new Uint8Array(20).fill(0x5e)

/**
 * Two PeerConnections over loopback TCP: `ours` (inbound, the uploading side) and `theirs` (the
 * requesting side). `fast` is what they advertise; we always advertise BEP 6.
 */
export async function connectedPair (opts: { pieceCount: number, have: BitField, fast: boolean }): Promise<{ ours: PeerConnection, theirs: PeerConnection, close: () => Promise<void> }> {
  const { a, b, close } = await socketPair()
  const theirs = new PeerConnection(a, { infoHash: INFO_HASH, pieceCount: opts.pieceCount, fast: opts.fast })
  const ours = new PeerConnection(b, { accept: () => true, pieceCount: opts.pieceCount, have: opts.have, fast: true })
  theirs.on('error', () => {})
  ours.on('error', () => {})
  await Promise.all([waitForHandshake(theirs), waitForHandshake(ours)])
  return {
    ours,
    theirs,
    close: async () => { ours.destroy(); theirs.destroy(); await close() }
  }
}

/** Resolves when `conn` has emitted a message matching `pred` (read by a 'data' listener already attached). */
export function seen (conn: PeerConnection, pred: (m: Message) => boolean): Promise<Message> {
  return new Promise((resolve, reject) => {
    const onData = (m: unknown): void => { if (pred(m as Message)) { cleanup(); resolve(m as Message) } }
    const onClose = (): void => { cleanup(); reject(new Error('closed')) }
    const cleanup = (): void => { conn.off('data', onData); conn.off('close', onClose) }
    conn.on('data', onData)
    conn.on('close', onClose)
  })
}

export function fullBitField (n: number): BitField {
  return BitField.full(n)
}
