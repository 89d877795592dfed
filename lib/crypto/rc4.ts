/**
 * RC4, our own: Node's OpenSSL 3 ships it only in the legacy provider (`crypto.getCiphers()` lists
 * no rc4 here), and MSE/PE needs nothing else from a cipher library.
 *
 * It sits on the hot path of every byte of an encrypted connection, so it works in place on typed
 * arrays and, on little-endian machines (every machine Node runs on in practice), XORs four bytes
 * at a time through a Uint32Array view: the S-box updates stay byte by byte (RC4 is sequential),
 * but the loads, XORs and stores are a quarter as many. Measured twice as fast as the byte loop
 * (bench/rc4.ts).
 *
 * Not a security primitive: MSE uses RC4 to obfuscate, and so do we.
 */

/** MSE/PE: "RC4-drop1024", the first 1024 bytes of each keystream are discarded (weak key bytes). */
export const MSE_RC4_DISCARD = 1024

/** Uint32 views read bytes in the machine's order; the word path below assumes little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** An RC4 keystream's position: the S-box and its two indexes. */
export interface RC4State {
  readonly s: Uint8Array
  readonly i: number
  readonly j: number
}

const ONE_BYTE_KEY = new Uint8Array(1)

export class RC4 {
  private readonly _s = new Uint8Array(256)
  private _i = 0
  private _j = 0

  /** `drop`: keystream bytes discarded before the first use (MSE: 1024). */
  constructor (key: Uint8Array, drop = 0) {
    if (key.length === 0 || key.length > 256) throw new RangeError(`RC4 key of ${key.length} bytes`)
    const s = this._s
    for (let i = 0; i < 256; i++) s[i] = i
    let j = 0
    for (let i = 0; i < 256; i++) {
      const si = s[i] as number
      j = (j + si + (key[i % key.length] as number)) & 255
      s[i] = s[j] as number
      s[j] = si
    }
    if (drop > 0) this.discard(drop)
  }

  /** Where the keystream stands: enough to go on with it elsewhere (another thread). */
  state (): RC4State {
    return { s: this._s.slice(), i: this._i, j: this._j }
  }

  /** The cipher that goes on from `state` (its next byte is the one `state` was taken before). */
  static resume (state: RC4State): RC4 {
    if (state.s.length !== 256) throw new RangeError(`RC4 state of ${state.s.length} bytes`)
    const r = new RC4(ONE_BYTE_KEY)
    r._s.set(state.s)
    r._i = state.i & 255
    r._j = state.j & 255
    return r
  }

  /** Advances the keystream by `n` bytes without using them. */
  discard (n: number): void {
    const s = this._s
    let i = this._i
    let j = this._j
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 255
      const si = s[i] as number
      j = (j + si) & 255
      s[i] = s[j] as number
      s[j] = si
    }
    this._i = i
    this._j = j
  }

  /** XORs the next `buf.length` keystream bytes into `buf`, in place. */
  update (buf: Uint8Array): void {
    const n = buf.length
    // Bytes one at a time up to a 4-byte boundary, then words, then the tail.
    let head = (4 - (buf.byteOffset & 3)) & 3
    if (!LITTLE_ENDIAN || n < 16) head = n
    if (head > n) head = n
    this._bytes(buf, 0, head)
    const words = (n - head) >>> 2
    if (words > 0) this._words(new Uint32Array(buf.buffer, buf.byteOffset + head, words))
    this._bytes(buf, head + words * 4, n)
  }

  /**
   * A fresh buffer holding `src` encrypted; `src` is left alone (a block we send may be shared
   * with the cache or another peer). Copy, then XOR in place: the copy is aligned for the word path.
   */
  encryptCopy (src: Uint8Array): Uint8Array {
    const out = new Uint8Array(src.length)
    out.set(src)
    this.update(out)
    return out
  }

  private _bytes (buf: Uint8Array, from: number, to: number): void {
    const s = this._s
    let i = this._i
    let j = this._j
    for (let k = from; k < to; k++) {
      i = (i + 1) & 255
      const si = s[i] as number
      j = (j + si) & 255
      const sj = s[j] as number
      s[i] = sj
      s[j] = si
      buf[k] = (buf[k] as number) ^ (s[(si + sj) & 255] as number)
    }
    this._i = i
    this._j = j
  }

  /**
   * Four keystream bytes per 32-bit XOR (little-endian: byte k of the word is keystream byte k).
   * The four rounds are written out rather than looped: this is the hot path of every encrypted
   * byte, and the unrolled form measured 761 against 519 MiB/s for the byte loop (bench/rc4.ts).
   */
  private _words (w: Uint32Array): void {
    const s = this._s
    let i = this._i
    let j = this._j
    const n = w.length
    for (let q = 0; q < n; q++) {
      i = (i + 1) & 255
      let si = s[i] as number
      j = (j + si) & 255
      let sj = s[j] as number
      s[i] = sj
      s[j] = si
      let ks = s[(si + sj) & 255] as number
      i = (i + 1) & 255
      si = s[i] as number
      j = (j + si) & 255
      sj = s[j] as number
      s[i] = sj
      s[j] = si
      ks |= (s[(si + sj) & 255] as number) << 8
      i = (i + 1) & 255
      si = s[i] as number
      j = (j + si) & 255
      sj = s[j] as number
      s[i] = sj
      s[j] = si
      ks |= (s[(si + sj) & 255] as number) << 16
      i = (i + 1) & 255
      si = s[i] as number
      j = (j + si) & 255
      sj = s[j] as number
      s[i] = sj
      s[j] = si
      ks |= (s[(si + sj) & 255] as number) << 24
      w[q] = (w[q] as number) ^ ks
    }
    this._i = i
    this._j = j
  }
}
