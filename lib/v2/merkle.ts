/**
 * BEP 52 merkle trees: one binary SHA-256 tree per file, built over 16 KiB blocks.
 *
 *   leaves:      SHA-256(block 0), SHA-256(block 1), ... (the last block may be short: it is
 *                hashed as it is, never padded with bytes)
 *   padding:     the leaf count is rounded up to a power of two with all-zero 32-byte hashes, so
 *                a padded subtree of height h hashes to `padHash(h)` (h = 0: 32 zero bytes)
 *   inner node:  SHA-256(left || right)
 *   pieces root: the root of the whole padded tree (files of length > 0 only)
 *   piece layer: the layer whose nodes each cover `piece length` bytes, height
 *                log2(pieceLength / 16 KiB); stored for files longer than one piece, without the
 *                nodes that cover only padding.
 *
 * Heights count up from the leaves (0) and indices left to right within a layer, like the
 * `base layer` / `index` of the BEP 52 hash request message.
 *
 * Memory: roots are computed streaming with a stack of at most log2(n) + 1 hashes
 * (MerkleBuilder); a file hashed with FileMerkleHasher holds one block and its piece layer (32
 * bytes per piece, which the torrent stores anyway).
 */
import { createHash } from 'node:crypto'

/** BEP 52: leaves are the hashes of 16 KiB blocks. */
export const BLOCK_SIZE = 16 * 1024
/** SHA2-256 digests. */
export const HASH_SIZE = 32
/**
 * A file of at most 2^53 bytes (a JS safe integer) has at most 2^39 blocks, so no tree is taller
 * than 39: proofs and heights are bounded by this.
 */
export const MAX_TREE_HEIGHT = 39

const padHashes: Uint8Array[] = [new Uint8Array(HASH_SIZE)]

export function sha256 (data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest())
}

export function hashPair (left: Uint8Array, right: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(left).update(right).digest())
}

/** The root of a subtree of 2^height zero leaves: what padding contributes at that height. */
export function padHash (height: number): Uint8Array {
  if (!Number.isInteger(height) || height < 0 || height > MAX_TREE_HEIGHT + 1) throw new RangeError(`bad merkle height ${height}`)
  for (let h = padHashes.length; h <= height; h++) {
    const below = padHashes[h - 1] as Uint8Array
    padHashes.push(hashPair(below, below))
  }
  return padHashes[height] as Uint8Array
}

/** Smallest power of two >= n (1 for n <= 1). */
export function nextPowerOfTwo (n: number): number {
  let p = 1
  while (p < n) p *= 2
  return p
}

/** log2 of a power of two; throws otherwise. */
export function log2Exact (n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${n} is not a power of two`)
  let h = 0
  for (let p = 1; p < n; p *= 2) h++
  if (2 ** h !== n) throw new RangeError(`${n} is not a power of two`)
  return h
}

/** 16 KiB blocks in a file (the last one may be short). */
export function blockCount (fileLength: number): number {
  return Math.ceil(fileLength / BLOCK_SIZE)
}

/** Height of a file's tree: log2 of its block count rounded up to a power of two. */
export function treeHeight (fileLength: number): number {
  return log2Exact(nextPowerOfTwo(blockCount(fileLength)))
}

/** Height of the piece layer for a piece length (a power of two, at least 16 KiB). */
export function pieceLayerHeight (pieceLength: number): number {
  if (pieceLength < BLOCK_SIZE) throw new RangeError(`piece length ${pieceLength} is below 16 KiB`)
  return log2Exact(pieceLength / BLOCK_SIZE)
}

/**
 * Streaming root of one layer of hashes, left to right: a binary counter of subtree roots, so
 * memory is at most one hash per height. `root(height)` pads with zero subtrees up to a tree of
 * that height (counted from the pushed layer's own height).
 */
export class MerkleBuilder {
  /** Subtree roots, heights strictly decreasing from bottom to top. */
  private readonly _stack: { height: number, hash: Uint8Array }[] = []
  private _count = 0
  /** Height of the pushed hashes in the full tree (0 = leaves), for the padding hashes. */
  readonly baseHeight: number

  constructor (baseHeight = 0) {
    this.baseHeight = baseHeight
  }

  get count (): number { return this._count }

  push (hash: Uint8Array): void {
    let node = hash
    let height = 0
    for (let top = this._stack.at(-1); top !== undefined && top.height === height; top = this._stack.at(-1)) {
      this._stack.pop()
      node = hashPair(top.hash, node)
      height++
    }
    this._stack.push({ height, hash: node })
    this._count++
  }

  /**
   * The root of the pushed hashes padded to 2^height of them (default: the smallest power of
   * two that holds them all). The builder can keep going afterwards: the stack is not consumed.
   */
  root (height = log2Exact(nextPowerOfTwo(this._count))): Uint8Array {
    if (this._count > 2 ** height) throw new RangeError(`${this._count} hashes do not fit a tree of height ${height}`)
    const stack = this._stack
    if (stack.length === 0) return padHash(this.baseHeight + height)
    let i = stack.length - 1
    let { height: h, hash: node } = stack[i] as { height: number, hash: Uint8Array }
    i--
    while (i >= 0 || h < height) {
      const below = i >= 0 ? stack[i] : undefined
      if (below !== undefined && below.height === h) {
        node = hashPair(below.hash, node)
        i--
      } else {
        node = hashPair(node, padHash(this.baseHeight + h))
      }
      h++
    }
    return node
  }
}

/** The root over `hashes` (one layer, at `baseHeight`), padded to 2^height of them. */
export function rootOf (hashes: readonly Uint8Array[], baseHeight = 0, height?: number): Uint8Array {
  const b = new MerkleBuilder(baseHeight)
  for (const h of hashes) b.push(h)
  return height === undefined ? b.root() : b.root(height)
}

/** Splits concatenated 32-byte hashes into views. */
export function splitHashes (concatenated: Uint8Array): Uint8Array[] {
  if (concatenated.length % HASH_SIZE !== 0) throw new RangeError(`${concatenated.length} bytes is not a whole number of ${HASH_SIZE}-byte hashes`)
  const out: Uint8Array[] = []
  for (let i = 0; i < concatenated.length; i += HASH_SIZE) out.push(concatenated.subarray(i, i + HASH_SIZE))
  return out
}

/** Pieces a file of `fileLength` bytes spans. */
export function filePieceCount (fileLength: number, pieceLength: number): number {
  return Math.ceil(fileLength / pieceLength)
}

/**
 * The pieces root a piece layer hashes up to: the layer padded with zero piece subtrees to a
 * power of two (BEP 52: "Layer hashes which exclusively cover data beyond the end of file ...
 * are omitted", so they come back as padding here).
 */
export function rootFromPieceLayer (layer: readonly Uint8Array[], pieceLength: number): Uint8Array {
  return rootOf(layer, pieceLayerHeight(pieceLength))
}

/**
 * The file-relative height of the subtree one piece's hash covers. A file longer than a piece:
 * the piece layer's height. A file of one piece or less: its whole tree, padded only to its own
 * block count rounded to a power of two, so its piece hash is the pieces root itself.
 */
export function pieceSubtreeHeight (fileLength: number, pieceLength: number): number {
  return fileLength > pieceLength ? pieceLayerHeight(pieceLength) : treeHeight(fileLength)
}

/**
 * Walks a proof up from `hash` at position `index` of its layer: each uncle is the sibling of the
 * node reached so far, nearest first. Returns the ancestor `uncles.length` layers up.
 */
export function climb (hash: Uint8Array, index: number, uncles: readonly Uint8Array[]): Uint8Array {
  let node = hash
  let i = index
  for (const uncle of uncles) {
    node = i % 2 === 0 ? hashPair(node, uncle) : hashPair(uncle, node)
    i = Math.floor(i / 2)
  }
  return node
}

/** True when `hash` at `index` with these uncles hashes up to `expected`. */
export function verifyProof (hash: Uint8Array, index: number, uncles: readonly Uint8Array[], expected: Uint8Array): boolean {
  return equalHashes(climb(hash, index, uncles), expected)
}

export function equalHashes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)
}

export interface FileHashes {
  /** Undefined for an empty file (BEP 52: no `pieces root`). */
  readonly root: Uint8Array | undefined
  /** The piece layer; empty for a file of one piece or less (stored only for longer files). */
  readonly pieceLayer: readonly Uint8Array[]
  readonly length: number
}

/**
 * Hashes one file's bytes as they stream in (any chunking): its pieces root and its piece layer.
 * Holds at most one partial block and one piece's worth of subtree stack.
 */
export class FileMerkleHasher {
  private readonly _pieceLength: number
  private readonly _leavesPerPiece: number
  private readonly _block = Buffer.alloc(BLOCK_SIZE)
  private _inBlock = 0
  private _length = 0
  private _piece: MerkleBuilder = new MerkleBuilder(0)
  private readonly _layer: Uint8Array[] = []

  constructor (pieceLength: number) {
    this._pieceLength = pieceLength
    this._leavesPerPiece = 2 ** pieceLayerHeight(pieceLength)
  }

  update (chunk: Uint8Array): void {
    let at = 0
    this._length += chunk.length
    // Whole blocks straight from the chunk, no copy.
    if (this._inBlock === 0) {
      while (chunk.length - at >= BLOCK_SIZE) {
        this._leaf(sha256(chunk.subarray(at, at + BLOCK_SIZE)))
        at += BLOCK_SIZE
      }
    }
    while (at < chunk.length) {
      const take = Math.min(BLOCK_SIZE - this._inBlock, chunk.length - at)
      this._block.set(chunk.subarray(at, at + take), this._inBlock)
      this._inBlock += take
      at += take
      if (this._inBlock === BLOCK_SIZE) {
        this._leaf(sha256(this._block))
        this._inBlock = 0
      }
    }
  }

  digest (): FileHashes {
    if (this._inBlock > 0) {
      this._leaf(sha256(this._block.subarray(0, this._inBlock)))
      this._inBlock = 0
    }
    const length = this._length
    if (length === 0) return { root: undefined, pieceLayer: [], length }
    // One piece or less: the tree is padded to the file's own block count, not to a piece.
    if (length <= this._pieceLength) return { root: this._layer[0] ?? this._piece.root(), pieceLayer: [], length }
    if (this._piece.count > 0) this._layer.push(this._piece.root(log2Exact(this._leavesPerPiece)))
    this._piece = new MerkleBuilder(0)
    return { root: rootFromPieceLayer(this._layer, this._pieceLength), pieceLayer: this._layer, length }
  }

  private _leaf (hash: Uint8Array): void {
    this._piece.push(hash)
    if (this._piece.count === this._leavesPerPiece) {
      this._layer.push(this._piece.root())
      this._piece = new MerkleBuilder(0)
    }
  }
}

/**
 * The root of one piece's subtree from its bytes: the 16 KiB blocks' hashes padded with zero
 * subtrees to 2^height leaves (`pieceSubtreeHeight`). What a v2 piece must hash up to.
 */
export function pieceRoot (data: Uint8Array, height: number): Uint8Array {
  const b = new MerkleBuilder(0)
  for (let i = 0; i < data.length; i += BLOCK_SIZE) b.push(sha256(data.subarray(i, Math.min(i + BLOCK_SIZE, data.length))))
  return b.root(height)
}
