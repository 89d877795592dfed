import bencode from 'bencode'
import { decodeBencodePrefix, dictGet, isDict } from '../bencode/decode.js'
import { ProtocolError } from '../util/errors.js'

/**
 * BEP 9 `ut_metadata` messages, the payload of a BEP 10 extended message:
 *
 *   request  d8:msg_typei0e5:piecei0ee
 *   data     d8:msg_typei1e5:piecei0e10:total_sizei34256ee<piece bytes>
 *   reject   d8:msg_typei2e5:piecei0ee
 *
 * The metadata (the info dict) travels in 16 KiB pieces; a data message's piece bytes follow
 * its dictionary and are not part of it. An unknown msg_type MUST be ignored (BEP 9), so it
 * decodes to `{ type: 'unknown' }` rather than an error.
 */
export type UtMetadataMessage =
  | { readonly type: 'request', readonly piece: number }
  /** `data` is a view into the payload, not a copy. */
  | { readonly type: 'data', readonly piece: number, readonly totalSize: number, readonly data: Uint8Array }
  | { readonly type: 'reject', readonly piece: number }
  | { readonly type: 'unknown', readonly msgType: number }

/** BEP 9: "The metadata is handled in blocks of 16KiB (16384 Bytes)". */
export const METADATA_PIECE_LENGTH = 16 * 1024

export const MsgType = { request: 0, data: 1, reject: 2 } as const

/** Piece indices past this are nonsense for any metadata we accept (8 MiB / 16 KiB = 512). */
const MAX_PIECE_INDEX = 1 << 20

export function encodeUtMetadata (msg: Exclude<UtMetadataMessage, { type: 'unknown' }>): Uint8Array {
  switch (msg.type) {
    case 'request': return bencode.encode({ msg_type: MsgType.request, piece: msg.piece })
    case 'reject': return bencode.encode({ msg_type: MsgType.reject, piece: msg.piece })
    case 'data': {
      const head = bencode.encode({ msg_type: MsgType.data, piece: msg.piece, total_size: msg.totalSize })
      const out = new Uint8Array(head.length + msg.data.length)
      out.set(head, 0)
      out.set(msg.data, head.length)
      return out
    }
  }
}

/** Throws ProtocolError when the payload does not start with a dictionary of the right shape. */
export function decodeUtMetadata (payload: Uint8Array): UtMetadataMessage {
  let head
  try {
    head = decodeBencodePrefix(payload)
  } catch (err) {
    throw new ProtocolError(`malformed ut_metadata message: ${err instanceof Error ? err.message : String(err)}`)
  }
  const dict = head.value
  if (!isDict(dict)) throw new ProtocolError('malformed ut_metadata message: not a dictionary')
  const msgType = dictGet(dict, 'msg_type')
  if (typeof msgType !== 'number' || !Number.isInteger(msgType)) throw new ProtocolError('malformed ut_metadata message: no integer msg_type')
  if (msgType !== MsgType.request && msgType !== MsgType.data && msgType !== MsgType.reject) return { type: 'unknown', msgType }
  const piece = dictGet(dict, 'piece')
  if (typeof piece !== 'number' || !Number.isInteger(piece) || piece < 0 || piece > MAX_PIECE_INDEX) {
    throw new ProtocolError('malformed ut_metadata message: piece is not a valid index')
  }
  if (msgType === MsgType.request) return { type: 'request', piece }
  if (msgType === MsgType.reject) return { type: 'reject', piece }
  const totalSize = dictGet(dict, 'total_size')
  if (typeof totalSize !== 'number' || !Number.isInteger(totalSize) || totalSize <= 0) {
    throw new ProtocolError('malformed ut_metadata data message: total_size is not a positive integer')
  }
  return { type: 'data', piece, totalSize, data: payload.subarray(head.length) }
}

/** Pieces of metadata of `size` bytes. */
export function metadataPieceCount (size: number): number {
  return Math.ceil(size / METADATA_PIECE_LENGTH)
}

/** BEP 9: every piece is 16 KiB but the last, which holds the rest. */
export function metadataPieceLength (size: number, piece: number): number {
  const count = metadataPieceCount(size)
  if (piece < 0 || piece >= count) return 0
  return piece === count - 1 ? size - piece * METADATA_PIECE_LENGTH : METADATA_PIECE_LENGTH
}
