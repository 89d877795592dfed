/**
 * MemoryStorage: pieces kept in a Map, for tests and benchmarks that want the engine without a
 * disk. Holds a copy of each piece (the caller may reuse its buffer), so it grows with what is
 * written: only for torrents that fit in memory.
 */
import { pieceLengthAt } from '../metainfo/geometry.js'
import type { Metainfo } from '../metainfo/types.js'
import { StorageError } from '../util/errors.js'
import { BitField } from '../wire/bitfield.js'
import { checkRange, type Storage } from './storage.js'
import { copyBytes } from '../util/copy-bytes.js'

type Geometry = Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'length' | 'lastPieceLength' | 'pieceHashes' | 'files'>

export class MemoryStorage implements Storage {
  private readonly meta: Geometry
  private readonly pieces = new Map<number, Uint8Array>()
  private closed = false

  constructor (meta: Geometry) {
    this.meta = meta
  }

  /** The pieces written so far. */
  get have (): BitField {
    const b = new BitField(this.meta.pieceCount)
    for (const i of this.pieces.keys()) b.set(i)
    return b
  }

  async write (index: number, data: Uint8Array): Promise<void> {
    if (this.closed) throw new StorageError(`cannot write piece ${index}: storage is closed`)
    const length = pieceLengthAt(this.meta, index)
    if (data.byteLength !== length) throw new RangeError(`piece ${index} is ${length} bytes, got ${data.byteLength}`)
    this.pieces.set(index, copyBytes(data))
  }

  async read (index: number, begin: number, length: number): Promise<Uint8Array> {
    checkRange(index, begin, length, pieceLengthAt(this.meta, index))
    const piece = this.pieces.get(index)
    if (piece === undefined) throw new StorageError(`cannot read piece ${index}: not stored`)
    return piece.subarray(begin, begin + length)
  }

  async close (): Promise<void> {
    this.closed = true
  }
}
