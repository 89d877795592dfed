import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { parseInfoDict, parseTorrent, V2_ONLY_REFUSAL } from '../../lib/metainfo/parse.js'
import { parseFileTree } from '../../lib/metainfo/file-tree.js'
import { dictEntries } from '../../lib/metainfo/raw-dict.js'
import { scanBencode } from '../../lib/bencode/scan.js'
import { fixture } from '../helpers.js'
import { benc, dict, hex, naiveHashes, v2Expected, v2Fixture, type BValue } from './helpers.js'

const allow = { allowV2Only: true }

for (const [name, want] of Object.entries(v2Expected)) {
  test(`BEP 52: ${name}.torrent (libtorrent 2.0) parses with libtorrent's hashes, files and piece layers`, () => {
    const m = parseTorrent(v2Fixture(`${name}.torrent`), allow)
    assert.equal(m.version, want.v2Only ? 'v2' : 'hybrid')
    assert.equal(m.infoHashV2Hex, want.infoHashV2)
    // The swarm id: SHA-1 for hybrids, the v2 hash truncated to 20 bytes for v2-only (BEP 52 "infohash").
    assert.equal(m.infoHashHex, want.infoHashV1 ?? want.infoHashV2.slice(0, 40))
    assert.equal(m.name, want.name)
    assert.equal(m.pieceCount, want.pieceCount)
    // libtorrent pads after the last file of a v2-only torrent too; we do not (the last piece
    // is as short as the file): the same list otherwise.
    const lt = want.v2Only && want.files.at(-1)?.pad === true ? want.files.slice(0, -1) : want.files
    assert.deepEqual(m.files.map(f => ({ path: f.path, size: f.length, offset: f.offset, pad: f.padding, piecesRoot: f.piecesRoot === undefined ? null : hex(f.piecesRoot) })), lt)
    assert.equal(m.pieceLayersStatus, 'complete')
    assert.deepEqual(Object.fromEntries([...(m.pieceLayers ?? new Map())].map(([k, v]) => [k, hex(v)])), want.pieceLayers)
    // The v2 view: every real file, each non-empty one on its own pieces.
    const v2 = m.v2Files ?? []
    assert.deepEqual(v2.map(f => f.path), lt.filter(f => !f.pad).map(f => f.path))
    for (const f of v2) {
      assert.equal(m.files[f.fileIndex]?.path, f.path)
      if (f.length > 0) assert.equal(f.firstPiece * want.pieceLength, m.files[f.fileIndex]?.offset)
    }
  })
}

test('BEP 52: the older fixtures (album) give libtorrent\'s v2 info hashes', () => {
  const v2 = parseTorrent(fixture('v2only.torrent'), allow)
  assert.equal(v2.infoHashV2Hex, '43e588686fb67fecb6ee1a06e11409b59e9cb4df0c39601905c74f4ea0ab64f2')
  const hybrid = parseTorrent(fixture('hybrid.torrent'))
  assert.equal(hybrid.infoHashV2Hex, createHash('sha256').update(hybrid.infoBytes).digest('hex'))
})

test('BEP 52: a v2-only .torrent with its piece layers is accepted as is; an info dict alone (a magnet) only when the caller fetches the layers', () => {
  const v2 = parseTorrent(v2Fixture('v2-single.torrent'))
  assert.equal(v2.version, 'v2')
  assert.equal(v2.pieceLayersStatus, 'complete')
  assert.throws(() => parseInfoDict(v2.infoBytes), { name: 'MetainfoError', message: V2_ONLY_REFUSAL })
  assert.equal(parseInfoDict(v2.infoBytes, {}, { allowV2Only: true }).pieceLayersStatus, 'missing')
  // A file of one piece needs no layer: its info dict alone verifies every piece.
  assert.equal(parseInfoDict(parseTorrent(v2Fixture('v2-small.torrent')).infoBytes).pieceLayersStatus, 'complete')
  // Hybrids stay usable through their v1 half without asking.
  assert.equal(parseTorrent(v2Fixture('hybrid-single.torrent')).version, 'hybrid')
})

/** The bytes of `torrent` with the piece layer hashes of `root` replaced by `replace(layer)`. */
function withLayer (torrent: Buffer, layerHex: string, replace: (layer: Buffer) => Buffer): Buffer {
  const layer = Buffer.from(layerHex, 'hex')
  const at = torrent.indexOf(layer)
  assert.ok(at > 0)
  const header = Buffer.from(`${layer.length}:`)
  assert.ok(torrent.subarray(at - header.length, at).equals(header))
  const next = replace(layer)
  return Buffer.concat([torrent.subarray(0, at - header.length), Buffer.from(`${next.length}:`), next, torrent.subarray(at + layer.length)])
}

test('BEP 52 piece layers: a corrupted layer is refused with a clear error', () => {
  const e = v2Expected['v2-multi'] as (typeof v2Expected)[string]
  const root = e.files.find(f => f.path.endsWith('long.bin'))?.piecesRoot as string
  const bad = withLayer(v2Fixture('v2-multi.torrent'), e.pieceLayers[root] as string, l => { const c = Buffer.from(l); c[40] = (c[40] as number) ^ 1; return c })
  assert.throws(() => parseTorrent(bad, allow), { name: 'MetainfoError', message: 'piece layers: the layer of "mixed/b/long.bin" does not hash up to its pieces root (a corrupted torrent, or layers from another one)' })
})

test('BEP 52 piece layers: a layer of the wrong length is refused', () => {
  const e = v2Expected['v2-single'] as (typeof v2Expected)[string]
  const root = e.files[0]?.piecesRoot as string
  const short = withLayer(v2Fixture('v2-single.torrent'), e.pieceLayers[root] as string, l => l.subarray(32))
  assert.throws(() => parseTorrent(short, allow), { name: 'MetainfoError', message: 'piece layers: "big.bin" needs 7 hashes of 32 bytes (224 bytes), found 192 bytes' })
  // The padding hash appended (an 8th hash that covers only data past the end) is wrong too: BEP 52 omits those.
  const long = withLayer(v2Fixture('v2-single.torrent'), e.pieceLayers[root] as string, l => Buffer.concat([l, Buffer.alloc(32)]))
  assert.throws(() => parseTorrent(long, allow), /needs 7 hashes/)
})

/** A v2-only torrent built here from `files` (path components -> bytes), hashed with the naive tree. */
function makeV2 (files: [string[], Uint8Array][], pieceLength: number, opts: { layers?: 'omit' | 'drop-first', name?: string } = {}): Buffer {
  interface Node { [k: string]: Node | Uint8Array }
  const tree: Node = {}
  const layers: [Uint8Array, BValue][] = []
  for (const [path, data] of files) {
    let node = tree
    for (const c of path.slice(0, -1)) node = (node[c] ??= {}) as Node
    node[path.at(-1) as string] = data
  }
  const toDict = (n: Node): BValue => dict(...Object.keys(n).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map(k => {
    const v = n[k] as Node | Uint8Array
    if (!(v instanceof Uint8Array)) return [k, toDict(v)] as const
    const { root, layer } = naiveHashes(v, pieceLength)
    if (layer.length > 0) layers.push([root, Buffer.concat(layer)])
    const props: [string, BValue][] = [['length', v.length]]
    if (v.length > 0) props.push(['pieces root', root])
    return [k, dict(['', dict(...props)])] as const
  }))
  const info = dict(['file tree', toDict(tree)], ['meta version', 2], ['name', opts.name ?? 'top'], ['piece length', pieceLength])
  layers.sort((a, b) => Buffer.compare(a[0], b[0]))
  if (opts.layers === 'drop-first') layers.shift()
  const top: [string, BValue][] = [['info', info]]
  if (opts.layers !== 'omit') top.push(['piece layers', dict(...layers)])
  return benc(dict(...top))
}

test('BEP 52: a torrent without piece layers parses with its layers "missing" (to be fetched from peers)', () => {
  const t = makeV2([[['a.bin'], Buffer.alloc(70000, 1)]], 16384, { layers: 'omit' })
  const m = parseTorrent(t, allow)
  assert.equal(m.pieceLayersStatus, 'missing')
  assert.equal(m.pieceLayers?.size, 0)
  // A torrent whose files all fit in one piece needs none.
  assert.equal(parseTorrent(makeV2([[['a.bin'], Buffer.alloc(700, 1)]], 16384, { layers: 'omit' }), allow).pieceLayersStatus, 'complete')
})

test('BEP 52: piece layers without the entry of a file longer than a piece are refused', () => {
  const t = makeV2([[['a.bin'], Buffer.alloc(70000, 1)], [['b.bin'], Buffer.alloc(50000, 2)]], 16384, { layers: 'drop-first' })
  assert.throws(() => parseTorrent(t, allow), /piece layers has no entry for "top\/(a|b)\.bin"/)
})

test('BEP 52 file tree: order is the byte order of the keys, not JS object order; paths keep the name as root', () => {
  const t = makeV2([[['9'], Buffer.alloc(10, 9)], [['10'], Buffer.alloc(10, 1)], [['1'], Buffer.alloc(10, 2)], [['d', 'x'], Buffer.alloc(0)]], 16384)
  const m = parseTorrent(t, allow)
  assert.deepEqual(m.files.filter(f => !f.padding).map(f => f.path), ['top/1', 'top/10', 'top/9', 'top/d/x'])
  assert.equal(m.multiFile, true)
  // A tree of one top-level file is a single-file torrent named by its key.
  const single = parseTorrent(makeV2([[['only.bin'], Buffer.alloc(20000, 3)]], 16384, { name: 'display' }), allow)
  assert.equal(single.multiFile, false)
  assert.deepEqual(single.files.map(f => f.path), ['only.bin'])
  assert.equal(single.lastPieceLength, 20000 - 16384)
})

test('BEP 52 "File tree layout": the BEP\'s example parses once its typo is fixed (dir1/dir2/fileA.txt, 1024 bytes)', () => {
  // As printed, the example says `5:length` for a 6-byte key: not valid bencoding, and refused.
  const printed = 'd4:infod9:file treed4:dir1d4:dir2d9:fileA.txtd0:d5:lengthi1024e11:pieces root32:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaeeeeeee'
  assert.throws(() => scanBencode(Buffer.from(printed)), { name: 'BencodeError' })
  const example = Buffer.from(printed.replace('5:length', '6:length'))
  const { entries } = scanBencode(example)
  const span = entries?.find(e => e.key === 'info')
  assert.ok(span !== undefined)
  const info = example.subarray(span.start, span.end)
  const files = parseFileTree(info, dictEntries(info, 0))
  assert.deepEqual(files.map(f => ({ path: f.components.join('/'), length: f.length, root: Buffer.from(f.piecesRoot ?? []).toString() })), [{ path: 'dir1/dir2/fileA.txt', length: 1024, root: 'a'.repeat(32) }])
})

test('raw dictionary walks stop at the end of unscanned bytes instead of looping', () => {
  assert.throws(() => dictEntries(Buffer.from('d5:lengthi1e'), 0), { name: 'MetainfoError' })
})

function treeTorrent (tree: BValue, pieceLength = 16384): Buffer {
  return benc(dict(['info', dict(['file tree', tree], ['meta version', 2], ['name', 'x'], ['piece length', pieceLength])]))
}
const root32 = Buffer.alloc(32, 0xab)

const badTrees: [string, BValue, RegExp][] = [
  ['the root is a file', dict(['', dict(['length', 1], ['pieces root', root32])]), /the root must not be a file/],
  ['a file entry with siblings', dict(['a', dict(['', dict(['length', 1], ['pieces root', root32])], ['b', dict()])]), /must have no sibling entries/],
  ['a non-empty file without pieces root', dict(['a', dict(['', dict(['length', 5])])]), /a file of 5 bytes needs a pieces root/],
  ['a pieces root of 31 bytes', dict(['a', dict(['', dict(['length', 5], ['pieces root', Buffer.alloc(31)])])]), /pieces root must be 32 bytes, found 31/],
  ['a length that is a string', dict(['a', dict(['', dict(['length', '5'])])]), /length must be an integer, found a byte string/],
  ['a negative length', dict(['a', dict(['', dict(['length', -1])])]), /length must not be negative/],
  ['a file without length', dict(['a', dict(['', dict(['pieces root', root32])])]), /file has no length/],
  ['a node that is not a dictionary', dict(['a', 5]), /file tree\/a must be a dictionary, found an integer/],
  ['no files at all', dict(['a', dict()]), /holds no files/],
  ['a ".." component', dict(['..', dict(['x', dict(['', dict(['length', 0])])])]), /would leave the download directory/]
]
for (const [what, tree, error] of badTrees) {
  test(`BEP 52 file tree: ${what} is refused`, () => {
    assert.throws(() => parseTorrent(treeTorrent(tree), allow), { name: 'MetainfoError', message: error })
  })
}

test('BEP 52 file tree: an empty file needs no pieces root, and a given one is ignored', () => {
  const tree = dict(['a', dict(['', dict(['length', 0], ['pieces root', root32])])], ['b', dict(['', dict(['length', 0])])])
  const m = parseTorrent(treeTorrent(tree), allow)
  assert.deepEqual(m.files.map(f => [f.path, f.length, f.piecesRoot]), [['x/a', 0, undefined], ['x/b', 0, undefined]])
  assert.equal(m.pieceCount, 0)
})

test('BEP 52: piece length must be a power of two of at least 16 KiB', () => {
  const tree = dict(['a', dict(['', dict(['length', 0])])])
  assert.throws(() => parseTorrent(treeTorrent(tree, 8192), allow), /power of two of at least 16 KiB/)
  assert.throws(() => parseTorrent(treeTorrent(tree, 3 * 16384), allow), /power of two of at least 16 KiB/)
})

test('BEP 52 upgrade path: a hybrid whose v1 files are in another order than the tree is refused', () => {
  const a = Buffer.alloc(16384, 1)
  const b = Buffer.alloc(16384, 2)
  const ra = naiveHashes(a, 16384).root
  const rb = naiveHashes(b, 16384).root
  const tree = dict(['a', dict(['', dict(['length', a.length], ['pieces root', ra])])], ['b', dict(['', dict(['length', b.length], ['pieces root', rb])])])
  const sha1 = (d: Buffer): Buffer => createHash('sha1').update(d).digest()
  const files = (order: [string, Buffer][]): BValue => order.map(([p, d]) => dict(['length', d.length], ['path', [p]]))
  const hybrid = (order: [string, Buffer][]): Buffer => benc(dict(['info', dict(['file tree', tree], ['files', files(order)], ['meta version', 2], ['name', 'x'], ['piece length', 16384], ['pieces', Buffer.concat(order.map(([, d]) => sha1(d)))])]))
  assert.equal(parseTorrent(hybrid([['a', a], ['b', b]])).version, 'hybrid')
  assert.throws(() => parseTorrent(hybrid([['b', b], ['a', a]])), { message: 'hybrid torrent: the v1 file list and the v2 file tree disagree (v1 has "b" of 16384 bytes, v2 has "a" of 16384 bytes)' })
})

test('BEP 52 upgrade path: a hybrid whose non-empty file is not piece-aligned in v1 (no padding file) is refused', () => {
  const a = Buffer.alloc(1000, 1)
  const b = Buffer.alloc(1000, 2)
  const tree = dict(['a', dict(['', dict(['length', 1000], ['pieces root', naiveHashes(a, 16384).root])])], ['b', dict(['', dict(['length', 1000], ['pieces root', naiveHashes(b, 16384).root])])])
  const pieces = createHash('sha1').update(a).update(b).digest()
  const t = benc(dict(['info', dict(['file tree', tree], ['files', [dict(['length', 1000], ['path', ['a']]), dict(['length', 1000], ['path', ['b']])]], ['meta version', 2], ['name', 'x'], ['piece length', 16384], ['pieces', pieces])]))
  assert.throws(() => parseTorrent(t), /"x\/b" starts at byte 1000 of the v1 layout, not on a piece boundary/)
})

test('BEP 9 + BEP 52: an info dict from a magnet matches its v1 hash, its v2 hash, or the truncated v2 hash', () => {
  const m = parseTorrent(v2Fixture('hybrid-multi.torrent'))
  const v2 = m.infoHashV2 as Uint8Array
  for (const expectedInfoHash of [m.infoHash, v2, v2.subarray(0, 20)]) {
    const got = parseInfoDict(m.infoBytes, { expectedInfoHash })
    assert.equal(got.infoHashV2Hex, m.infoHashV2Hex)
    assert.equal(got.pieceLayersStatus, 'missing', 'an info dict comes without piece layers')
  }
  assert.throws(() => parseInfoDict(m.infoBytes, { expectedInfoHash: Buffer.alloc(20) }), /info dictionary hashes to .* \(v2 .*\), expected 0{40}/)
  const v2only = parseTorrent(v2Fixture('v2-single.torrent'), allow)
  assert.equal(parseInfoDict(v2only.infoBytes, { expectedInfoHash: v2only.infoHash }, allow).infoHashHex, v2only.infoHashHex)
  assert.throws(() => parseInfoDict(v2only.infoBytes, { expectedInfoHash: v2only.infoHash }), { message: V2_ONLY_REFUSAL })
})

test('BEP 52: a v2-only torrent claiming more pieces than we can track is refused before anything is allocated', () => {
  const tree = dict(['huge', dict(['', dict(['length', 2 ** 50], ['pieces root', root32])])])
  assert.throws(() => parseTorrent(treeTorrent(tree), allow), /make 68719476736 pieces, more than the 4194304 we accept/)
})

test('fuzz: mutated BEP 52 torrents give a MetainfoError/BencodeError or a consistent Metainfo, never another exception', { timeout: 60_000 }, () => {
  let seed = 0x52
  const rand = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31 }
  const sources = Object.keys(v2Expected).map(n => v2Fixture(`${n}.torrent`))
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(sources[i % sources.length] as Buffer)
    for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) {
      const at = Math.floor(rand() * b.length)
      const r = rand()
      if (r < 0.6) b[at] = Math.floor(rand() * 256)
      else if (r < 0.8) b[at] = 0x30 + Math.floor(rand() * 10)
      else b[at] = 'deil:'.charCodeAt(Math.floor(rand() * 5))
    }
    let m
    try {
      m = parseTorrent(b, allow)
    } catch (err) {
      assert.ok(err instanceof Error && (err.name === 'MetainfoError' || err.name === 'BencodeError'), `case ${i}: ${err instanceof Error ? (err.stack ?? '') : String(err)}`)
      continue
    }
    assert.equal(m.pieceCount, Math.ceil(m.length / m.pieceLength), `case ${i}`)
    for (const f of m.v2Files ?? []) assert.ok(f.length === 0 || (m.files[f.fileIndex]?.offset ?? -1) % m.pieceLength === 0, `case ${i}`)
  }
})
