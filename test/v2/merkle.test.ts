import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { test } from 'node:test'
import {
  BLOCK_SIZE, climb, FileMerkleHasher, MerkleBuilder, padHash, pieceSubtreeHeight, rootFromPieceLayer, rootOf, splitHashes, treeHeight, verifyProof
} from '../../lib/v2/merkle.js'
import { hex, naiveHashes, naiveTree, v2Expected, v2Fixture } from './helpers.js'

const sha = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** Hashes `data` through FileMerkleHasher in chunks of `chunk` bytes. */
function hashInChunks (data: Uint8Array, pieceLength: number, chunk: number): { root: string | undefined, layer: string[] } {
  const h = new FileMerkleHasher(pieceLength)
  for (let i = 0; i < data.length; i += chunk) h.update(data.subarray(i, i + chunk))
  const d = h.digest()
  return { root: d.root === undefined ? undefined : hex(d.root), layer: d.pieceLayer.map(hex) }
}

test('BEP 52 pieces root: padding leaves are zero hashes, so a padded subtree of height h is padHash(h)', () => {
  let zero: Buffer = Buffer.alloc(32)
  for (let h = 0; h < 12; h++) {
    assert.equal(hex(padHash(h)), hex(zero))
    zero = sha(zero, zero)
  }
})

test('MerkleBuilder: streaming roots equal a full tree for 1..70 leaves and any padded height', () => {
  for (let n = 1; n <= 70; n++) {
    const leaves = Array.from({ length: n }, () => randomBytes(32))
    let width = 1
    while (width < n) width *= 2
    for (const extra of [0, 1, 3]) {
      const padded = [...leaves]
      while (padded.length < width * 2 ** extra) padded.push(Buffer.alloc(32))
      let layer: Buffer[] = padded
      while (layer.length > 1) {
        const up: Buffer[] = []
        for (let i = 0; i < layer.length; i += 2) up.push(sha(layer[i] as Buffer, layer[i + 1] as Buffer))
        layer = up
      }
      assert.equal(hex(rootOf(leaves, 0, Math.log2(width) + extra)), hex(layer[0] as Buffer), `n=${n} extra=${extra}`)
    }
  }
})

test('MerkleBuilder holds at most log2(n) + 1 subtree roots (bounded memory)', () => {
  const b = new MerkleBuilder()
  const leaf = Buffer.alloc(32, 7)
  let most = 0
  for (let i = 0; i < 5000; i++) {
    b.push(leaf)
    most = Math.max(most, (b as unknown as { _stack: unknown[] })._stack.length)
  }
  assert.ok(most <= Math.floor(Math.log2(5000)) + 1, `stack grew to ${most}`)
})

test('BEP 52 pieces root: short last block hashed as it is; files of every size match a naive tree', () => {
  for (const length of [1, 100, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 3 * BLOCK_SIZE, 5 * BLOCK_SIZE + 17, 9 * BLOCK_SIZE]) {
    const data = randomBytes(length)
    for (const pieceLength of [16384, 32768, 65536]) {
      const want = naiveHashes(data, pieceLength)
      for (const chunk of [1000, BLOCK_SIZE, 40000, length]) {
        const got = hashInChunks(data, pieceLength, chunk)
        assert.equal(got.root, hex(want.root), `length ${length}, piece ${pieceLength}, chunk ${chunk}`)
        assert.deepEqual(got.layer, want.layer.map(hex), `layer: length ${length}, piece ${pieceLength}, chunk ${chunk}`)
      }
    }
  }
})

test('BEP 52: an empty file has no pieces root', () => {
  const h = new FileMerkleHasher(16384)
  assert.equal(h.digest().root, undefined)
})

test('libtorrent 2.0: our pieces roots and piece layers equal those of every fixtures/v2 torrent', () => {
  let checked = 0
  for (const e of Object.values(v2Expected)) {
    for (const f of e.files) {
      if (f.pad) continue
      const rel = e.files.length === 1 || !f.path.includes('/') ? e.input : `${e.input}/${f.path.split('/').slice(1).join('/')}`
      const data = v2Fixture(`data/${rel}`)
      const got = hashInChunks(data, e.pieceLength, 64 * 1024)
      assert.equal(got.root ?? null, f.piecesRoot, `${f.path} in ${e.name}`)
      if (f.piecesRoot !== null && f.size > e.pieceLength) assert.equal(got.layer.join(''), e.pieceLayers[f.piecesRoot], `layer of ${f.path}`)
      checked++
    }
  }
  assert.ok(checked >= 15)
})

test('BEP 52 piece layers: the last layer is padded with zero *subtrees*, not zero hashes', () => {
  // z.bin: 70 000 bytes in 32 KiB pieces, 3 piece hashes padded to 4.
  const e = v2Expected['v2-multi'] as (typeof v2Expected)[string]
  const z = e.files.find(f => f.path.endsWith('z.bin'))
  assert.ok(z?.piecesRoot)
  const layer = splitHashes(Buffer.from(e.pieceLayers[z.piecesRoot] as string, 'hex'))
  assert.equal(layer.length, 3)
  assert.equal(hex(rootFromPieceLayer(layer, 32768)), z.piecesRoot)
  const naivePad = rootOf([...layer, new Uint8Array(32)], 0)
  assert.notEqual(hex(naivePad), z.piecesRoot)
})

test('a file of one piece or less: its piece hash is its root, padded to its own block count', () => {
  assert.equal(pieceSubtreeHeight(5000, 32768), 0)
  assert.equal(pieceSubtreeHeight(32768, 32768), 1)
  assert.equal(pieceSubtreeHeight(40000, 32768), 1)
  assert.equal(treeHeight(5 * BLOCK_SIZE), 3)
})

test('merkle proofs: every leaf verifies against the root with its uncles; a changed leaf or uncle fails', () => {
  const data = randomBytes(11 * BLOCK_SIZE + 5)
  const layers = naiveTree(data)
  const root = (layers.at(-1) as Buffer[])[0] as Buffer
  for (let i = 0; i < 12; i++) {
    const uncles: Buffer[] = []
    let idx = i
    for (let h = 0; h < layers.length - 1; h++) {
      uncles.push((layers[h] as Buffer[])[idx ^ 1] as Buffer)
      idx >>= 1
    }
    const leaf = (layers[0] as Buffer[])[i] as Buffer
    assert.ok(verifyProof(leaf, i, uncles, root))
    assert.ok(!verifyProof(sha(Buffer.from('x')), i, uncles, root))
    assert.ok(!verifyProof(leaf, i ^ 1, uncles, root), 'the index decides left and right')
    const bad = [...uncles]
    bad[2] = Buffer.alloc(32, 1)
    assert.ok(!verifyProof(leaf, i, bad, root))
    // Part of the way: the uncles below a node lead to that node.
    assert.equal(hex(climb(leaf, i, uncles.slice(0, 2))), hex((layers[2] as Buffer[])[i >> 2] as Buffer))
  }
})
