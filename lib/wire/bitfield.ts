import { ProtocolError } from '../util/errors.js'
import { copyBytes } from '../util/copy-bytes.js'

/**
 * Which pieces a peer (or we) have, as BEP 3's bitfield message carries it:
 *
 *   "The first byte of the bitfield corresponds to indices 0 - 7 from high bit to low bit,
 *    respectively. The next one 8-15, etc. Spare bits at the end are set to zero."
 *
 * `bytes` is exactly ceil(length / 8) long and its spare bits are always zero, so it can be sent
 * as is. The count is kept up to date so `hasAll()` is O(1) on every `have`.
 */
export class BitField {
  /** Number of pieces (bits that mean something). */
  readonly length: number
  readonly bytes: Uint8Array
  private _count: number

  constructor (length: number, bytes?: Uint8Array) {
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bad bitfield length ${length}`)
    this.length = length
    const size = BitField.byteLength(length)
    if (bytes === undefined) {
      this.bytes = new Uint8Array(size)
      this._count = 0
    } else {
      checkBytes(bytes, length)
      this.bytes = bytes
      this._count = popcount(bytes)
    }
  }

  /** Bytes a bitfield of `length` pieces takes on the wire. */
  static byteLength (length: number): number {
    return Math.ceil(length / 8)
  }

  /**
   * A peer's bitfield payload, validated: wrong size or a spare bit set is a ProtocolError (BEP 3
   * says spare bits are zero; a peer that sets them is miscounting pieces). Copies `bytes`, so a
   * view into a socket chunk is not retained.
   */
  static fromWire (bytes: Uint8Array, length: number): BitField {
    checkBytes(bytes, length)
    return new BitField(length, copyBytes(bytes))
  }

  /** All pieces set. */
  static full (length: number): BitField {
    const bf = new BitField(length)
    bf.setAll()
    return bf
  }

  get (index: number): boolean {
    if (index < 0 || index >= this.length) return false
    return ((this.bytes[index >>> 3] as number) & (0x80 >>> (index & 7))) !== 0
  }

  /** The same as get(): reads as a set of pieces (the picker's PieceSource). */
  has (index: number): boolean {
    return this.get(index)
  }

  /** The set indexes, ascending. */
  * indexes (): Generator<number> {
    for (let i = 0; i < this.length; i++) if (this.get(i)) yield i
  }

  /** Sets (or clears) one bit; an index out of range is a RangeError (a caller's bug). */
  set (index: number, value = true): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) throw new RangeError(`piece ${index} out of range 0..${this.length - 1}`)
    const byte = index >>> 3
    const mask = 0x80 >>> (index & 7)
    const old = this.bytes[byte] as number
    const had = (old & mask) !== 0
    if (had === value) return
    this.bytes[byte] = value ? old | mask : old & ~mask
    this._count += value ? 1 : -1
  }

  setAll (): void {
    this.bytes.fill(0xff)
    const spare = this.bytes.length * 8 - this.length
    if (spare > 0) this.bytes[this.bytes.length - 1] = (0xff << spare) & 0xff
    this._count = this.length
  }

  /**
   * Adds the pieces of another bitfield of the same length (wire bytes, already validated): a peer
   * that sends a second summary, or one after its haves, still has what it told us before.
   */
  merge (bytes: Uint8Array): void {
    checkBytes(bytes, this.length)
    for (let i = 0; i < bytes.length; i++) this.bytes[i] = (this.bytes[i] as number) | (bytes[i] as number)
    this._count = popcount(this.bytes)
  }

  /** Number of pieces set. */
  count (): number {
    return this._count
  }

  hasAll (): boolean {
    return this._count === this.length
  }

  hasNone (): boolean {
    return this._count === 0
  }
}

function checkBytes (bytes: Uint8Array, length: number): void {
  const size = BitField.byteLength(length)
  if (bytes.length !== size) throw new ProtocolError(`bitfield of ${bytes.length} bytes, expected ${size} for ${length} pieces`)
  const spare = size * 8 - length
  if (spare > 0 && ((bytes[size - 1] as number) & ((1 << spare) - 1)) !== 0) {
    throw new ProtocolError('bitfield has spare bits set past the last piece')
  }
}

const POP = new Uint8Array(256)
for (let i = 1; i < 256; i++) POP[i] = (POP[i >> 1] as number) + (i & 1)

function popcount (bytes: Uint8Array): number {
  let n = 0
  for (let i = 0; i < bytes.length; i++) n += POP[bytes[i] as number] as number
  return n
}
