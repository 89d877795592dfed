/**
 * A set of piece indexes in the BEP 3 `bitfield` layout: piece 0 is the high bit of byte 0, spare
 * bits at the end are zero. The same bytes can go on the wire as they are.
 */
export class Bitfield {
  readonly length: number
  readonly bytes: Uint8Array

  constructor (length: number, bytes?: Uint8Array) {
    this.length = length
    this.bytes = new Uint8Array(Math.ceil(length / 8))
    if (bytes !== undefined) this.bytes.set(bytes.subarray(0, this.bytes.length))
    const spare = this.bytes.length * 8 - length
    if (spare > 0) this.bytes[this.bytes.length - 1] = (this.bytes[this.bytes.length - 1] as number) & (0xff << spare)
  }

  has (index: number): boolean {
    if (index < 0 || index >= this.length) return false
    return ((this.bytes[index >> 3] as number) & (0x80 >> (index & 7))) !== 0
  }

  set (index: number, value = true): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) throw new RangeError(`piece ${index} is out of range (0..${this.length - 1})`)
    const i = index >> 3
    const bit = 0x80 >> (index & 7)
    this.bytes[i] = value ? (this.bytes[i] as number) | bit : (this.bytes[i] as number) & ~bit
  }

  /** How many pieces are set. */
  count (): number {
    let n = 0
    for (const b of this.bytes) {
      let v = b
      while (v !== 0) { v &= v - 1; n++ }
    }
    return n
  }

  /** The set indexes, ascending. */
  * indexes (): Generator<number> {
    for (let i = 0; i < this.length; i++) if (this.has(i)) yield i
  }
}
