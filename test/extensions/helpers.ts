import { createHash } from 'node:crypto'
import bencode from 'bencode'
import type { ExtensionPeer } from '../../lib/extensions/extension-ids.js'
import { decodeUtMetadata, encodeUtMetadata, METADATA_PIECE_LENGTH, type UtMetadataMessage } from '../../lib/extensions/ut-metadata-codec.js'
import { prng } from '../wire/helpers.js'

/** A valid info dict whose bencoding spans several 16 KiB metadata pieces (`hashes` × 20 bytes of `pieces`). */
export function infoDict (hashes: number, seed = 1): { bytes: Uint8Array, infoHash: Uint8Array } {
  const rand = prng(seed)
  const pieces = new Uint8Array(hashes * 20).map(() => Math.floor(rand() * 256))
  const bytes = bencode.encode({ name: `test-${seed}`, 'piece length': 16384, length: hashes * 16384, pieces })
  return { bytes, infoHash: new Uint8Array(createHash('sha1').update(bytes).digest()) }
}

/** Flips one byte in each metadata piece: same size, wrong hash, every piece differs. */
export function corrupt (bytes: Uint8Array): Uint8Array {
  const out = bytes.slice()
  for (let off = 100; off < out.length; off += METADATA_PIECE_LENGTH) out[off] = (out[off] as number) ^ 0xff
  return out
}

/**
 * A stand-in connection for unit tests: records what the module sends (decoded), and lets a
 * `reply` function answer each ut_metadata request as the peer would (undefined: stay silent).
 */
export class FakePeer implements ExtensionPeer {
  readonly sent: Array<{ id: number, msg: UtMetadataMessage }> = []
  destroyed = false
  peerExtendedHandshake: { m: Record<string, number>, metadataSize?: number }
  reply: ((piece: number) => Uint8Array | undefined) | undefined
  deliver: ((payload: Uint8Array) => void) | undefined

  constructor (public readonly name: string, metadataSize: number | undefined, reply?: (piece: number) => Uint8Array | undefined) {
    this.peerExtendedHandshake = metadataSize === undefined ? { m: { ut_metadata: 3 } } : { m: { ut_metadata: 3 }, metadataSize }
    this.reply = reply
  }

  extended (id: number, payload: Uint8Array): boolean {
    const msg = decodeUtMetadata(payload)
    this.sent.push({ id, msg })
    if (msg.type === 'request' && this.reply !== undefined) {
      const answer = this.reply(msg.piece)
      // Answer asynchronously, as a socket would.
      if (answer !== undefined) queueMicrotask(() => { this.deliver?.(answer) })
    }
    return true
  }

  get requested (): number[] {
    return this.sent.flatMap(s => s.msg.type === 'request' ? [s.msg.piece] : [])
  }
}

/** The reply of a peer holding `bytes` (honest when they hash right). */
export function serving (bytes: Uint8Array): (piece: number) => Uint8Array {
  return (piece) => encodeUtMetadata({
    type: 'data',
    piece,
    totalSize: bytes.length,
    data: bytes.subarray(piece * METADATA_PIECE_LENGTH, (piece + 1) * METADATA_PIECE_LENGTH)
  })
}

export const tick = (): Promise<void> => new Promise(resolve => setImmediate(resolve))
