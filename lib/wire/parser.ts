import { HASH_REQUEST_LENGTH, HashMessageId, MAX_HASHES_PAYLOAD_LENGTH } from './hash-messages.js'
import { copyBytes } from '../util/copy-bytes.js'
import { ProtocolError } from '../util/errors.js'
import { BitField } from './bitfield.js'
import { decodeHandshake, HANDSHAKE_LENGTH, type Handshake } from './handshake.js'
import { resolveLimits, UNKNOWN_PIECE_COUNT_CAP, type ResolvedLimits, type WireLimits } from './limits.js'
import { MessageId, type Message } from './messages.js'

/**
 * The continuation parser behind the message Transform and PeerConnection: a state machine
 * that reads the 68-byte handshake, then `<length: uint32 BE><id: uint8><payload>` forever.
 *
 * Each state asks for N bytes and names the method that gets them (`need(4, onLength)`).
 * Bytes are handed over as a *view* into the received chunk whenever all N arrived in it, so
 * piece blocks cost no copy; only a message that straddles chunks is assembled in a buffer of
 * its exact, already-validated size. Length prefix and id are read in place (no view at all)
 * on the fast path.
 *
 * Bounds (see lib/wire/README.md for the full table) are enforced on the length prefix and the
 * id byte, before any buffer for the body exists. A violation calls `error` once and the parser
 * goes dead; it never throws.
 */
export interface ParserHandlers {
  /** The peer's handshake; call `pause()` from here to hold later bytes until a decision. */
  readonly handshake?: (h: Handshake) => void
  readonly message: (m: Message) => void
  readonly error: (err: ProtocolError) => void
}

export interface ParserOptions extends WireLimits {
  /** Start by reading a handshake (default true); false starts at the first length prefix. */
  readonly handshake?: boolean
}

interface Bound { readonly min: number, readonly max: number }
const BARE_BOUND: Bound = { min: 1, max: 1 }
const INDEX_BOUND: Bound = { min: 5, max: 5 }
const BLOCK_REF_BOUND: Bound = { min: 13, max: 13 }
const PORT_BOUND: Bound = { min: 3, max: 3 }
const HASH_REQUEST_BOUND: Bound = { min: 1 + HASH_REQUEST_LENGTH, max: 1 + HASH_REQUEST_LENGTH }
const HASHES_BOUND: Bound = { min: 1 + HASH_REQUEST_LENGTH, max: 1 + MAX_HASHES_PAYLOAD_LENGTH }

const KEEP_ALIVE: Message = { type: 'keepAlive' }
const CHOKE: Message = { type: 'choke' }
const UNCHOKE: Message = { type: 'unchoke' }
const INTERESTED: Message = { type: 'interested' }
const NOT_INTERESTED: Message = { type: 'notInterested' }
const HAVE_ALL: Message = { type: 'haveAll' }
const HAVE_NONE: Message = { type: 'haveNone' }

export class WireParser {
  private readonly _handlers: ParserHandlers
  private _limits: ResolvedLimits
  /** Largest length prefix any message may have: checked before the id is known. */
  private _maxLength = 0
  /** The bounds that follow from the limits (set with `_maxLength`). */
  private _bounds!: { readonly piece: Bound, readonly extended: Bound, readonly bitfield: Bound, readonly unknown: Bound }
  private _need: number
  private _next: (bytes: Uint8Array) => void
  /** The straddling message being assembled, exactly `_need` bytes. */
  private _partial: Uint8Array | null = null
  private _partialLength = 0
  /** Length prefix of the message being read (includes the id byte). */
  private _length = 0
  private _id = 0
  private _paused = false
  private _held: Uint8Array[] = []
  private _dead = false
  /** The chunk being parsed is lent (writeBorrowed): what outlives the call is copied. */
  private _borrowed = false
  /** Lent reads: the reused buffer straddling payloads are assembled in (_payloadBuffer). */
  private _lentPayload: Uint8Array | undefined
  /** Header bytes are read at once and never kept, so one scratch buffer serves every straddle. */
  private readonly _scratch = new Uint8Array(HANDSHAKE_LENGTH)

  private readonly _onHandshake = (b: Uint8Array): void => { this._handshake(b) }
  private readonly _onLength = (b: Uint8Array): void => { this._lengthPrefix(readUint32(b, 0)) }
  private readonly _onId = (b: Uint8Array): void => { this._idByte(b[0] as number) }
  private readonly _onPayload = (b: Uint8Array): void => { this._payload(b, 0) }

  constructor (handlers: ParserHandlers, opts: ParserOptions = {}) {
    this._handlers = handlers
    this._limits = resolveLimits(opts)
    this._computeMaxLength()
    if (opts.handshake === false) {
      this._need = 4
      this._next = this._onLength
    } else {
      this._need = HANDSHAKE_LENGTH
      this._next = this._onHandshake
    }
  }

  get limits (): ResolvedLimits { return this._limits }

  /** True once a protocol error was reported: everything after is dropped. */
  get dead (): boolean { return this._dead }

  /** Learn the piece count (metadata arrived): index and bitfield checks become exact. */
  setPieceCount (pieceCount: number): void {
    this._limits = resolveLimits({ ...this._limits, pieceCount })
    this._computeMaxLength()
  }

  /** Stop parsing after the current message; later bytes are held (the caller stops reading). */
  pause (): void {
    this._paused = true
  }

  resume (): void {
    if (!this._paused) return
    this._paused = false
    while (this._held.length > 0 && !this._paused && !this._dead) {
      this._consume(this._held.shift() as Uint8Array)
    }
  }

  write (chunk: Uint8Array): void {
    if (this._dead) return
    if (this._paused) { this._held.push(chunk); return }
    this._consume(chunk)
  }

  /**
   * Parses a chunk that is only lent for this call (a socket read into one reused buffer): every
   * message that could be kept gets its own copy of its payload, except a piece's block, which
   * stays a view of `chunk` and is valid only until the message handler returns (the engine
   * copies it into its piece at once). Bytes held past the call are copied too.
   */
  writeBorrowed (chunk: Uint8Array): void {
    if (this._dead) return
    if (this._paused) { this._held.push(copyBytes(chunk)); return }
    this._borrowed = true
    try {
      this._consume(chunk)
    } finally {
      this._borrowed = false
    }
  }

  private _consume (chunk: Uint8Array): void {
    let off = 0
    const end = chunk.length
    if (this._partial !== null) {
      const n = Math.min(this._need - this._partialLength, end)
      this._partial.set(n === end ? chunk : chunk.subarray(0, n), this._partialLength)
      this._partialLength += n
      off = n
      if (this._partialLength < this._need) return
      let whole = this._partial
      // Assembled in the reused buffer but finished from an owned chunk (never, by how
      // PeerConnection switches to lent reads; cheap to be sure): its message gets its own bytes.
      if (!this._borrowed && whole.buffer === this._lentPayload?.buffer) whole = copyBytes(whole)
      this._partial = null
      this._partialLength = 0
      this._next(whole)
    }
    while (!this._dead && !this._paused) {
      const avail = end - off
      // Fast path: a whole header in this chunk, read in place.
      if (this._next === this._onLength && avail >= 5) {
        const length = readUint32(chunk, off)
        if (length === 0) { off += 4; this._handlers.message(KEEP_ALIVE); continue }
        off += 5
        if (!this._checkLength(length)) return
        this._idByte(chunk[off - 1] as number)
        continue
      }
      const need = this._need
      if (avail < need) {
        if (avail > 0) {
          // Payloads may be kept by the message (views), so only headers use the scratch buffer,
          // and lent reads (whose messages are handled before the call returns) one reused buffer.
          this._partial = this._next !== this._onPayload ? this._scratch : this._payloadBuffer(need)
          this._partial.set(chunk.subarray(off), 0)
          this._partialLength = avail
        }
        return
      }
      off += need
      if (this._next === this._onPayload) this._payload(chunk, off - need)
      else this._next(chunk.subarray(off - need, off))
    }
    // Held bytes come before any chunk held earlier: this one was being consumed first.
    if (this._paused && off < end) this._held.unshift(this._borrowed ? copyBytes(chunk, off) : chunk.subarray(off))
  }

  /**
   * Where a payload that straddles reads is assembled. Parsing lent reads, a piece (the payload
   * that straddles a 64 KiB read every few blocks: a quarter of all bytes) goes in one reused
   * buffer, since its message is handled, and its block copied, before the call returns; what
   * else a handler keeps is copied by _keep. Otherwise a buffer of its own.
   */
  private _payloadBuffer (need: number): Uint8Array {
    const size = 9 + this._limits.maxBlockLength
    if (!this._borrowed || need > size) return new Uint8Array(need)
    if (this._lentPayload === undefined || this._lentPayload.byteLength < size) this._lentPayload = new Uint8Array(size)
    return this._lentPayload.subarray(0, need)
  }

  private _expect (need: number, next: (bytes: Uint8Array) => void): void {
    this._need = need
    this._next = next
  }

  private _fail (message: string): void {
    if (this._dead) return
    this._dead = true
    this._partial = null
    this._held = []
    this._handlers.error(new ProtocolError(message))
  }

  private _handshake (bytes: Uint8Array): void {
    let h: Handshake
    try {
      h = decodeHandshake(bytes)
    } catch (err) {
      this._fail(err instanceof Error ? err.message : String(err))
      return
    }
    this._expect(4, this._onLength)
    this._handlers.handshake?.(h)
  }

  private _lengthPrefix (length: number): void {
    if (length === 0) { this._handlers.message(KEEP_ALIVE); return }
    if (!this._checkLength(length)) return
    this._expect(1, this._onId)
  }

  private _checkLength (length: number): boolean {
    if (length > this._maxLength) {
      this._fail(`message length ${length} exceeds the bound of ${this._maxLength} bytes`)
      return false
    }
    this._length = length
    return true
  }

  /** The id is known: check the exact bound for this type, still before buffering the body. */
  private _idByte (id: number): void {
    this._id = id
    const length = this._length
    const bound = this._boundFor(id)
    if (length < bound.min || length > bound.max) {
      this._fail(`message id ${id} with length ${length}, allowed ${bound.min}..${bound.max}`)
      return
    }
    if (length === 1) {
      this._expect(4, this._onLength)
      this._bare(id)
      return
    }
    this._expect(length - 1, this._onPayload)
  }

  /** Allowed length prefixes per id: constants, or bounds cached from the limits (no object per message). */
  private _boundFor (id: number): Bound {
    switch (id) {
      case MessageId.choke: case MessageId.unchoke: case MessageId.interested: case MessageId.notInterested:
      case MessageId.haveAll: case MessageId.haveNone:
        return BARE_BOUND
      case MessageId.have: case MessageId.suggest: case MessageId.allowedFast:
        return INDEX_BOUND
      case MessageId.request: case MessageId.cancel: case MessageId.reject:
        return BLOCK_REF_BOUND
      case MessageId.piece: return this._bounds.piece
      case MessageId.port: return PORT_BOUND
      case MessageId.extended: return this._bounds.extended
      case MessageId.bitfield: return this._bounds.bitfield
      // BEP 52 hash request / hash reject: exactly the 48-byte request; hashes: up to 8192 + proof
      // hashes (a 512-hash piece layer answer is ~17 KB, over the bound for unknown ids).
      case HashMessageId.hashRequest: case HashMessageId.hashReject:
        return HASH_REQUEST_BOUND
      case HashMessageId.hashes: return HASHES_BOUND
      default: return this._bounds.unknown
    }
  }

  private _computeMaxLength (): void {
    const l = this._limits
    const bitfield = 1 + BitField.byteLength(l.pieceCount ?? UNKNOWN_PIECE_COUNT_CAP)
    this._bounds = {
      piece: { min: 10, max: 9 + l.maxBlockLength },
      extended: { min: 2, max: 2 + l.maxExtendedLength },
      bitfield: l.pieceCount === undefined ? { min: 2, max: bitfield } : { min: bitfield, max: bitfield },
      unknown: { min: 1, max: 13 + l.maxBlockLength }
    }
    this._maxLength = Math.max(13 + l.maxBlockLength, bitfield, 2 + l.maxExtendedLength, 1 + MAX_HASHES_PAYLOAD_LENGTH)
  }

  private _bare (id: number): void {
    switch (id) {
      case MessageId.choke: this._handlers.message(CHOKE); return
      case MessageId.unchoke: this._handlers.message(UNCHOKE); return
      case MessageId.interested: this._handlers.message(INTERESTED); return
      case MessageId.notInterested: this._handlers.message(NOT_INTERESTED); return
      case MessageId.haveAll: this._handlers.message(HAVE_ALL); return
      case MessageId.haveNone: this._handlers.message(HAVE_NONE); return
      default: this._handlers.message({ type: 'unknown', id, payload: new Uint8Array(0) })
    }
  }

  /** `buf[off .. off + length - 1]` is the payload (the id byte is behind us). */
  private _payload (buf: Uint8Array, off: number): void {
    this._expect(4, this._onLength)
    const id = this._id
    const size = this._length - 1
    switch (id) {
      case MessageId.have: case MessageId.suggest: case MessageId.allowedFast: {
        const index = readUint32(buf, off)
        if (!this._checkIndex(index, id)) return
        const type = id === MessageId.have ? 'have' : id === MessageId.suggest ? 'suggest' : 'allowedFast'
        this._handlers.message({ type, index })
        return
      }
      case MessageId.request: case MessageId.cancel: case MessageId.reject: {
        const index = readUint32(buf, off)
        const begin = readUint32(buf, off + 4)
        const length = readUint32(buf, off + 8)
        if (!this._checkIndex(index, id)) return
        if (length === 0 || length > this._limits.maxBlockLength) {
          this._fail(`message id ${id} asks for a block of ${length} bytes (allowed 1..${this._limits.maxBlockLength})`)
          return
        }
        const type = id === MessageId.request ? 'request' : id === MessageId.cancel ? 'cancel' : 'reject'
        this._handlers.message({ type, index, begin, length })
        return
      }
      case MessageId.piece: {
        const index = readUint32(buf, off)
        if (!this._checkIndex(index, id)) return
        const begin = readUint32(buf, off + 4)
        this._handlers.message({ type: 'piece', index, begin, block: buf.subarray(off + 8, off + size) })
        return
      }
      case MessageId.bitfield: {
        const bitfield = this._keep(buf, off, off + size)
        const count = this._limits.pieceCount
        if (count !== undefined) {
          const spare = size * 8 - count
          if (spare > 0 && ((bitfield[size - 1] as number) & ((1 << spare) - 1)) !== 0) {
            this._fail('bitfield has spare bits set past the last piece')
            return
          }
        }
        this._handlers.message({ type: 'bitfield', bitfield })
        return
      }
      case MessageId.port:
        this._handlers.message({ type: 'port', port: ((buf[off] as number) << 8) | (buf[off + 1] as number) })
        return
      case MessageId.extended:
        this._handlers.message({ type: 'extended', id: buf[off] as number, payload: this._keep(buf, off + 1, off + size) })
        return
      default:
        this._handlers.message({ type: 'unknown', id, payload: this._keep(buf, off, off + size) })
    }
  }

  /** A payload a handler may keep: a view of an owned chunk, a copy of a lent one. */
  private _keep (buf: Uint8Array, from: number, to: number): Uint8Array {
    return this._borrowed ? copyBytes(buf, from, to) : buf.subarray(from, to)
  }

  private _checkIndex (index: number, id: number): boolean {
    const count = this._limits.pieceCount ?? UNKNOWN_PIECE_COUNT_CAP
    if (index < count) return true
    this._fail(`message id ${id} names piece ${index}, past the last piece ${count - 1}`)
    return false
  }
}

function readUint32 (b: Uint8Array, off: number): number {
  return (((b[off] as number) << 24) | ((b[off + 1] as number) << 16) | ((b[off + 2] as number) << 8) | (b[off + 3] as number)) >>> 0
}
