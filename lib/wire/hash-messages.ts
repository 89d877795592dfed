/**
 * BEP 52 hash messages, the payload after the id byte:
 *
 *   hash request (21): <pieces root: 32><base layer: u32><index: u32><length: u32><proof layers: u32>
 *   hashes       (22): the same 48 bytes, then <hash: 32> × (length + uncles)
 *   hash reject  (23): the same 48 bytes as the request it refuses
 *
 * `base layer` counts up from the leaves (0 = the 16 KiB block hashes); `index` is the first
 * hash of that layer; `length` hashes are asked for; `proof layers` ancestor layers, of which the
 * first log2(length) - 1 are inside the requested subtree and omitted, so a `hashes` message
 * carries max(0, proofLayers - log2(length) + 1) uncle hashes after the base hashes, nearest
 * first (libtorrent's reading of the BEP, which we follow).
 *
 * Until the parser knows these ids they arrive as `{ type: 'unknown', id, payload }` and go out
 * the same way (`{ type: 'unknown', id: 21, payload: encodeHashRequest(r) }`).
 *
 * Bounds: a request or reject is exactly 48 bytes; a `hashes` message at most
 * MAX_HASHES_PAYLOAD_LENGTH, checked before anything is split. Decoding throws ProtocolError only
 * for framing (a peer that sends that is broken: close it); a well-framed request that asks for
 * something unreasonable gets `requestProblem` text and is answered with a reject.
 */
import { ProtocolError } from '../util/errors.js'
import { HASH_SIZE, MAX_TREE_HEIGHT } from '../v2/merkle.js'

export const HashMessageId = {
  hashRequest: 21,
  hashes: 22,
  hashReject: 23
} as const

/** pieces root + four u32 fields. */
export const HASH_REQUEST_LENGTH = HASH_SIZE + 16
/**
 * Most hashes one message may carry: libtorrent's own limit (validate_hash_request), which is the
 * leaf layer of a 128 MiB piece. BEP 52 says requests "SHOULD NOT" exceed 512; we ask for 512 at
 * most and answer up to this.
 */
export const MAX_HASH_COUNT = 8192
/** A proof has at most one uncle per layer of the tallest possible tree. */
export const MAX_PROOF_HASHES = MAX_TREE_HEIGHT
/** Largest `hashes` payload (after the id byte): 48 + 32 × (8192 + 39) = 263 440 bytes. */
export const MAX_HASHES_PAYLOAD_LENGTH = HASH_REQUEST_LENGTH + HASH_SIZE * (MAX_HASH_COUNT + MAX_PROOF_HASHES)

export interface HashRequest {
  readonly piecesRoot: Uint8Array
  readonly baseLayer: number
  readonly index: number
  readonly length: number
  readonly proofLayers: number
}

export interface HashesMessage extends HashRequest {
  /** `length` hashes of the base layer, from `index`. */
  readonly hashes: readonly Uint8Array[]
  /** Uncle hashes, nearest the base first, ending nearest the root. */
  readonly uncles: readonly Uint8Array[]
}

/** Uncle hashes a `hashes` answer carries: the proof layers not inside the requested subtree. */
export function uncleCount (length: number, proofLayers: number): number {
  return Math.max(0, proofLayers - (log2Ceil(length) - 1))
}

function log2Ceil (n: number): number {
  let h = 0
  while (2 ** h < n) h++
  return h
}

function isPowerOfTwo (n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1 && 2 ** log2Ceil(n) === n
}

export function encodeHashRequest (r: HashRequest): Uint8Array {
  const out = Buffer.alloc(HASH_REQUEST_LENGTH)
  writeHeader(out, r)
  return out
}

/** A reject carries the request it refuses, byte for byte. */
export const encodeHashReject = encodeHashRequest

export function encodeHashes (m: HashesMessage): Uint8Array {
  const n = m.hashes.length + m.uncles.length
  if (m.hashes.length !== m.length) throw new RangeError(`hashes message for ${m.length} hashes holds ${m.hashes.length}`)
  if (m.uncles.length !== uncleCount(m.length, m.proofLayers)) throw new RangeError(`hashes message needs ${uncleCount(m.length, m.proofLayers)} uncles, holds ${m.uncles.length}`)
  const out = Buffer.alloc(HASH_REQUEST_LENGTH + HASH_SIZE * n)
  writeHeader(out, m)
  let at = HASH_REQUEST_LENGTH
  for (const h of [...m.hashes, ...m.uncles]) {
    if (h.length !== HASH_SIZE) throw new RangeError('a hash must be 32 bytes')
    out.set(h, at)
    at += HASH_SIZE
  }
  return out
}

function writeHeader (out: Buffer, r: HashRequest): void {
  if (r.piecesRoot.length !== HASH_SIZE) throw new RangeError('pieces root must be 32 bytes')
  out.set(r.piecesRoot, 0)
  out.writeUInt32BE(r.baseLayer, 32)
  out.writeUInt32BE(r.index, 36)
  out.writeUInt32BE(r.length, 40)
  out.writeUInt32BE(r.proofLayers, 44)
}

function readHeader (p: Uint8Array): HashRequest {
  const b = Buffer.from(p.buffer, p.byteOffset, p.byteLength)
  return {
    piecesRoot: new Uint8Array(p.subarray(0, HASH_SIZE)),
    baseLayer: b.readUInt32BE(32),
    index: b.readUInt32BE(36),
    length: b.readUInt32BE(40),
    proofLayers: b.readUInt32BE(44)
  }
}

/** Decodes a hash request (id 21) or hash reject (id 23) payload: exactly 48 bytes. */
export function decodeHashRequest (payload: Uint8Array): HashRequest {
  if (payload.length !== HASH_REQUEST_LENGTH) throw new ProtocolError(`hash request/reject of ${payload.length} bytes, must be ${HASH_REQUEST_LENGTH}`)
  return readHeader(payload)
}

export const decodeHashReject = decodeHashRequest

/**
 * Decodes a `hashes` payload (id 22). The count of hashes must be what the header implies, the
 * header itself must be sane (requestProblem), and the whole is bounded before it is split.
 */
export function decodeHashes (payload: Uint8Array): HashesMessage {
  if (payload.length > MAX_HASHES_PAYLOAD_LENGTH) throw new ProtocolError(`hashes message of ${payload.length} bytes exceeds ${MAX_HASHES_PAYLOAD_LENGTH}`)
  if (payload.length < HASH_REQUEST_LENGTH) throw new ProtocolError(`hashes message of ${payload.length} bytes is shorter than its ${HASH_REQUEST_LENGTH}-byte header`)
  const head = readHeader(payload)
  const problem = requestProblem(head)
  if (problem !== undefined) throw new ProtocolError(`hashes message: ${problem}`)
  const uncles = uncleCount(head.length, head.proofLayers)
  const want = HASH_REQUEST_LENGTH + HASH_SIZE * (head.length + uncles)
  if (payload.length !== want) throw new ProtocolError(`hashes message for ${head.length} hashes and ${uncles} uncles must be ${want} bytes, found ${payload.length}`)
  const all: Uint8Array[] = []
  for (let at = HASH_REQUEST_LENGTH; at < payload.length; at += HASH_SIZE) all.push(new Uint8Array(payload.subarray(at, at + HASH_SIZE)))
  return { ...head, hashes: all.slice(0, head.length), uncles: all.slice(head.length) }
}

/**
 * Why a request's fields make no sense for any torrent, or undefined. BEP 52: length a power of
 * two and index a multiple of it; we also take length 1 (libtorrent asks for one piece hash when
 * a file's last 512-hash bucket holds one) and cap it at MAX_HASH_COUNT; layers fit a tree.
 */
export function requestProblem (r: HashRequest): string | undefined {
  if (!isPowerOfTwo(r.length) || r.length > MAX_HASH_COUNT) return `length ${r.length} is not a power of two up to ${MAX_HASH_COUNT}`
  if (r.index % r.length !== 0) return `index ${r.index} is not a multiple of length ${r.length}`
  if (r.baseLayer > MAX_TREE_HEIGHT) return `base layer ${r.baseLayer} is above any tree (${MAX_TREE_HEIGHT} layers at most)`
  if (r.proofLayers > MAX_TREE_HEIGHT) return `proof layers ${r.proofLayers} exceed any tree (${MAX_TREE_HEIGHT} at most)`
  return undefined
}

/**
 * Why a request does not fit a file whose tree is `treeHeight` layers above its leaves (the
 * root at that height), or undefined; libtorrent's validate_hash_request rules: the base layer
 * is below the root, [index, index + length) lies within the padded layer, and the proof stops
 * below the root.
 */
export function requestProblemForTree (r: HashRequest, treeHeight: number): string | undefined {
  const general = requestProblem(r)
  if (general !== undefined) return general
  if (r.baseLayer >= treeHeight) return `base layer ${r.baseLayer} is not below the root (the tree has ${treeHeight} layers)`
  const layerSize = 2 ** (treeHeight - r.baseLayer)
  if (r.index + r.length > layerSize) return `hashes ${r.index}..${r.index + r.length - 1} run past the ${layerSize} of layer ${r.baseLayer}`
  if (r.proofLayers >= treeHeight - r.baseLayer) return `proof layers ${r.proofLayers} reach the root (at most ${treeHeight - r.baseLayer - 1} here)`
  return undefined
}

export function sameRequest (a: HashRequest, b: HashRequest): boolean {
  return a.baseLayer === b.baseLayer && a.index === b.index && a.length === b.length && a.proofLayers === b.proofLayers &&
    Buffer.from(a.piecesRoot).equals(b.piecesRoot)
}
