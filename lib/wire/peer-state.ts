import { ProtocolError } from '../util/errors.js'
import { BitField } from './bitfield.js'
import { decodeExtendedHandshake, EXTENDED_HANDSHAKE_ID, type ExtendedHandshake } from './extended-handshake.js'
import type { Message } from './messages.js'
import { copyBytes } from '../util/copy-bytes.js'

/**
 * What one side of a connection has told the other, and the ordering rules of BEP 3 / 6 / 10
 * that need memory (the parser checks everything that a single message shows on its own).
 * `receive()` applies a peer's message and returns a ProtocolError instead of throwing.
 *
 * While the piece count is unknown (magnet, no metadata yet) the peer's bitfield bytes and haves
 * are held raw (at most MAX_PENDING_HAVES haves) and checked when `setPieceCount()` is called.
 */
export const MAX_PENDING_HAVES = 65536

export interface Negotiated {
  /** BEP 6: both sides set reserved[7] & 0x04. */
  readonly fast: boolean
  /** BEP 10: both sides set reserved[5] & 0x10. */
  readonly extended: boolean
}

export class PeerState {
  amChoking = true
  amInterested = false
  peerChoking = true
  peerInterested = false
  /** The peer's pieces; undefined while the piece count is unknown. */
  peerPieces: BitField | undefined
  /** The latest extension handshake the peer sent, its `m` merged over earlier ones (BEP 10). */
  peerExtendedHandshake: ExtendedHandshake | undefined
  /** Pieces the peer says we may request while choked (BEP 6 allowed fast). */
  readonly allowedFast = new Set<number>()
  /** Piece payload bytes received. */
  downloaded = 0

  private _negotiated: Negotiated = { fast: false, extended: false }
  private _pieceCount: number | undefined
  private _pendingBitfield: Uint8Array | undefined
  private _pendingAll = false
  private _pendingHaves: Set<number> | undefined

  constructor (pieceCount: number | undefined) {
    this._pieceCount = pieceCount
    if (pieceCount !== undefined) this.peerPieces = new BitField(pieceCount)
  }

  get pieceCount (): number | undefined { return this._pieceCount }
  get negotiated (): Negotiated { return this._negotiated }

  negotiate (n: Negotiated): void {
    this._negotiated = n
  }

  /** Apply a message the peer sent; a ProtocolError means: drop this peer. */
  receive (m: Message): ProtocolError | undefined {
    switch (m.type) {
      case 'choke': this.peerChoking = true; return
      case 'unchoke': this.peerChoking = false; return
      case 'interested': this.peerInterested = true; return
      case 'notInterested': this.peerInterested = false; return
      case 'have': return this._have(m.index)
      case 'bitfield': return this._summary('bitfield', m.bitfield)
      case 'haveAll': return this._fastOnly(m.type) ?? this._summary('haveAll')
      case 'haveNone': return this._fastOnly(m.type) ?? this._summary('haveNone')
      case 'suggest': case 'reject': return this._fastOnly(m.type)
      case 'allowedFast': {
        const err = this._fastOnly(m.type)
        // Bounded: indices are below the piece count (or its cap), and a peer sends ~10.
        if (err === undefined && this.allowedFast.size < 1024) this.allowedFast.add(m.index)
        return err
      }
      case 'piece': this.downloaded += m.block.length; return
      case 'extended': {
        if (!this._negotiated.extended) return new ProtocolError('extended message from a peer that did not negotiate BEP 10')
        if (m.id === EXTENDED_HANDSHAKE_ID) return this._extendedHandshake(m.payload)
        return
      }
      default: return
    }
  }

  /** The piece count became known: validate what was held raw. */
  setPieceCount (pieceCount: number): ProtocolError | undefined {
    if (this._pieceCount !== undefined) return pieceCount === this._pieceCount ? undefined : new ProtocolError('piece count changed')
    this._pieceCount = pieceCount
    let pieces: BitField
    try {
      if (this._pendingBitfield !== undefined) pieces = BitField.fromWire(this._pendingBitfield, pieceCount)
      else if (this._pendingAll) pieces = BitField.full(pieceCount)
      else pieces = new BitField(pieceCount)
    } catch (err) {
      return err instanceof ProtocolError ? err : new ProtocolError(String(err))
    }
    for (const i of this._pendingHaves ?? []) {
      if (i >= pieceCount) return new ProtocolError(`have for piece ${i}, past the last piece ${pieceCount - 1}`)
      pieces.set(i)
    }
    for (const i of this.allowedFast) if (i >= pieceCount) this.allowedFast.delete(i)
    this.peerPieces = pieces
    this._pendingBitfield = undefined
    this._pendingHaves = undefined
    return undefined
  }

  private _have (index: number): ProtocolError | undefined {
    if (this.peerPieces !== undefined) { this.peerPieces.set(index); return }
    this._pendingHaves ??= new Set()
    this._pendingHaves.add(index)
    if (this._pendingHaves.size > MAX_PENDING_HAVES) return new ProtocolError(`more than ${MAX_PENDING_HAVES} haves before the piece count is known`)
    return undefined
  }

  /**
   * BEP 3 puts the bitfield first and BEP 6 allows one summary; real clients do not always follow
   * (aria2 1.36 sends have none, some haves, then a bitfield on the same connection). A peer does
   * not lose pieces, so every summary adds to what it told us before: closing on a late one costs
   * the peer and protects nothing.
   */
  private _summary (type: 'bitfield' | 'haveAll' | 'haveNone', bitfield?: Uint8Array): ProtocolError | undefined {
    if (type === 'haveNone') return
    if (type === 'haveAll') {
      if (this.peerPieces !== undefined) this.peerPieces.setAll()
      else this._pendingAll = true
      return
    }
    const bytes = bitfield as Uint8Array
    if (this._pieceCount === undefined) return this._holdBitfield(bytes)
    try {
      if (this.peerPieces === undefined) this.peerPieces = BitField.fromWire(bytes, this._pieceCount)
      else this.peerPieces.merge(bytes)
    } catch (err) {
      return err instanceof ProtocolError ? err : new ProtocolError(String(err))
    }
    return undefined
  }

  /** Piece count unknown (magnet): bitfields are held raw, merged, and checked by setPieceCount. */
  private _holdBitfield (bytes: Uint8Array): ProtocolError | undefined {
    const held = this._pendingBitfield
    if (held === undefined) { this._pendingBitfield = copyBytes(bytes); return }
    if (held.length !== bytes.length) return new ProtocolError(`bitfield of ${bytes.length} bytes after one of ${held.length}`)
    for (let i = 0; i < held.length; i++) held[i] = (held[i] as number) | (bytes[i] as number)
    return undefined
  }

  private _fastOnly (type: string): ProtocolError | undefined {
    // BEP 6: "When the fast extension is disabled, if a peer receives ... the peer MUST close".
    return this._negotiated.fast ? undefined : new ProtocolError(`${type} from a peer that did not negotiate BEP 6`)
  }

  private _extendedHandshake (payload: Uint8Array): ProtocolError | undefined {
    let h: ExtendedHandshake
    try {
      h = decodeExtendedHandshake(payload)
    } catch (err) {
      return err instanceof ProtocolError ? err : new ProtocolError(String(err))
    }
    const previous = this.peerExtendedHandshake
    this.peerExtendedHandshake = previous === undefined ? h : { ...previous, ...h, m: { ...previous.m, ...h.m } }
    return undefined
  }

  /** The id the peer wants extension `name` sent on, if it enabled it. */
  peerExtensionId (name: string): number | undefined {
    const id = this.peerExtendedHandshake?.m[name]
    return id === undefined || id === 0 ? undefined : id
  }
}
