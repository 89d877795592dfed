import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import bencode from 'bencode'
import { parseInfoDict, parseTorrent } from '../../lib/metainfo/parse.js'
import { MetainfoError } from '../../lib/util/errors.js'
import { expected, fixture } from '../helpers.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

for (const name of ['single', 'tiny', 'multi', 'hybrid', 'noncanonical']) {
  test(`BEP 3: ${name}.torrent matches what libtorrent reports`, () => {
    const want = expected[name]
    assert.ok(want !== undefined)
    const m = parseTorrent(fixture(`${name}.torrent`))
    assert.equal(m.infoHashHex, want.infoHashV1)
    assert.equal(hex(m.infoHash), want.infoHashV1)
    assert.equal(m.name, want.name)
    assert.equal(m.pieceLength, want.pieceLength)
    assert.equal(m.pieceCount, want.pieceCount)
    assert.equal(m.pieceHashes.length, want.pieceCount * 20)
    assert.equal(m.length, want.totalSize)
    assert.equal(m.lastPieceLength, want.totalSize - (want.pieceCount - 1) * want.pieceLength)
    assert.equal(m.private, want.private)
    assert.equal(m.createdBy, want.creator)
    assert.equal(m.comment ?? '', want.comment)
    assert.deepEqual(m.files.map(f => ({ path: f.path, size: f.length, offset: f.offset, pad: f.padding })), want.files)
    const tiers: string[][] = []
    for (const [url, tier] of want.trackers) (tiers[tier] ??= []).push(url)
    // libtorrent shuffles URLs within a tier, as BEP 12 asks: compare tiers as sets.
    const sorted = (t: readonly (readonly string[])[]): string[][] => t.map(tier => [...tier].sort())
    assert.deepEqual(sorted(m.announce), sorted(tiers))
    assert.deepEqual(m.urlList, want.webSeeds)
  })
}

test('BEP 3: info hashes agree with transmission-show for the canonical fixtures', () => {
  for (const name of ['single', 'tiny', 'multi']) {
    assert.equal(parseTorrent(fixture(`${name}.torrent`)).infoHashHex, expected[name]?.transmissionShowHash)
  }
})

test('BEP 52 "infohash": a non-canonical info dict is hashed as its bytes stand, not re-encoded', () => {
  const file = fixture('noncanonical.torrent')
  const m = parseTorrent(file)
  const reencoded = hex(createHash('sha1').update(bencode.encode(bencode.decode(file).info)).digest())
  assert.notEqual(m.infoHashHex, reencoded)
  assert.equal(m.infoHashHex, hex(createHash('sha1').update(m.infoBytes).digest()))
  assert.ok(file.includes(Buffer.from(m.infoBytes)))
  assert.ok(Buffer.from(m.infoBytes).toString('latin1').startsWith('d10:zz-unknown'))
  // transmission 3 re-encodes (sorted keys); recorded in expected.json, and not what we follow.
  assert.equal(expected.noncanonical?.transmissionShowHash, reencoded)
})

test('BEP 3: single-file fields, odd last piece, creation date', () => {
  const m = parseTorrent(fixture('single.torrent'))
  assert.equal(m.multiFile, false)
  assert.equal(m.version, 'v1')
  assert.equal(m.length, 100_000)
  assert.equal(m.pieceCount, 4)
  assert.equal(m.lastPieceLength, 1696)
  assert.deepEqual(m.files[0]?.rawPath, ['single.bin'])
  assert.equal(typeof m.creationDate, 'number')
  assert.deepEqual(m.announce, [['http://127.0.0.1:6969/announce', 'http://127.0.0.1:6970/announce'], ['udp://127.0.0.1:6971']])
  assert.deepEqual(m.urlList, ['http://127.0.0.1:8080/single.bin'])
})

test('BEP 3: multi-file offsets run through the byte stream, nested dirs under the name', () => {
  const m = parseTorrent(fixture('multi.torrent'))
  assert.equal(m.multiFile, true)
  assert.deepEqual(m.files[2]?.rawPath, ['album', 'cd2', 'deep', 'notes.txt'])
  let offset = 0
  for (const f of m.files) { assert.equal(f.offset, offset); offset += f.length }
  assert.equal(offset, m.length)
})

test('BEP 27: private flag', () => {
  assert.equal(parseTorrent(fixture('tiny.torrent')).private, true)
  assert.equal(parseTorrent(fixture('single.torrent')).private, false)
})

test('BEP 47 / BEP 52: hybrid parses as v1 with padding files marked', () => {
  const m = parseTorrent(fixture('hybrid.torrent'))
  assert.equal(m.version, 'hybrid')
  assert.deepEqual(m.files.filter(f => f.padding).map(f => f.length), [9152, 16367, 16144, 2768])
})

test('BEP 52: v2-only torrents with their piece layers parse for download like any other', () => {
  assert.equal(parseTorrent(fixture('v2only.torrent')).version, 'v2')
})

const baseInfo = { name: 'x', 'piece length': 16384, length: 3, pieces: new Uint8Array(20) }
const torrentOf = (top: Record<string, unknown>): Uint8Array => bencode.encode(top)

test('name.utf-8 and path.utf-8 are preferred over name and path', () => {
  const info = {
    name: Buffer.from([0xe9, 0x74, 0xe9]), // latin-1 "été"
    'name.utf-8': 'été',
    'piece length': 16384,
    pieces: new Uint8Array(20),
    files: [{ length: 3, path: [Buffer.from([0xe9])], 'path.utf-8': ['é.txt'] }]
  }
  const m = parseTorrent(torrentOf({ info }))
  assert.equal(m.name, 'été')
  assert.deepEqual(m.files[0]?.rawPath, ['été', 'é.txt'])
  assert.equal(m.files[0]?.path, 'été/é.txt')
})

test('BEP 12: announce alone is one tier; announce-list wins when present; empties dropped', () => {
  assert.deepEqual(parseTorrent(torrentOf({ announce: 'http://a/', info: baseInfo })).announce, [['http://a/']])
  const m = parseTorrent(torrentOf({ announce: 'http://a/', 'announce-list': [['http://b/', ''], [], ['http://c/', 'http://b/']], info: baseInfo }))
  assert.deepEqual(m.announce, [['http://b/'], ['http://c/']])
  assert.deepEqual(parseTorrent(torrentOf({ info: baseInfo })).announce, [])
})

test('BEP 19: url-list as a single string or as a list', () => {
  assert.deepEqual(parseTorrent(torrentOf({ 'url-list': 'http://s/', info: baseInfo })).urlList, ['http://s/'])
  assert.deepEqual(parseTorrent(torrentOf({ 'url-list': ['http://s/', 'http://t/'], info: baseInfo })).urlList, ['http://s/', 'http://t/'])
  assert.throws(() => parseTorrent(torrentOf({ 'url-list': 5, info: baseInfo })), { name: 'MetainfoError', message: 'url-list must be a URL or a list of URLs' })
})

test('BEP 9: parseInfoDict builds the same Metainfo from the info bytes plus magnet trackers', () => {
  const fromFile = parseTorrent(fixture('multi.torrent'))
  const m = parseInfoDict(fromFile.infoBytes, { announce: [['http://127.0.0.1:1/announce']], expectedInfoHash: fromFile.infoHash })
  assert.equal(m.infoHashHex, fromFile.infoHashHex)
  assert.deepEqual(m.files, fromFile.files)
  assert.deepEqual(m.announce, [['http://127.0.0.1:1/announce']])
  assert.deepEqual(m.urlList, [])
  assert.equal(m.comment, undefined)
})

test('BEP 9: parseInfoDict keeps its own copy of the info bytes, even when given a Buffer view the caller reuses', () => {
  const fromFile = parseTorrent(fixture('multi.torrent'))
  const received = Buffer.from(fromFile.infoBytes)
  const m = parseInfoDict(received.subarray(0), { expectedInfoHash: fromFile.infoHash })
  received.fill(0)
  assert.deepEqual([...m.infoBytes], [...fromFile.infoBytes], 'the bytes we would serve to peers (BEP 9) are still the info dict')
})

test('BEP 9: info bytes that do not hash to the magnet\'s info hash are rejected', () => {
  const fromFile = parseTorrent(fixture('multi.torrent'))
  assert.throws(() => parseInfoDict(fromFile.infoBytes, { expectedInfoHash: new Uint8Array(20) }),
    (err: unknown) => err instanceof MetainfoError && err.message === `info dictionary hashes to ${fromFile.infoHashHex}, expected ${'00'.repeat(20)}`)
})

test('an empty torrent (no bytes, no pieces) parses with zero pieces', () => {
  const m = parseTorrent(torrentOf({ info: { ...baseInfo, length: 0, pieces: new Uint8Array(0) } }))
  assert.equal(m.pieceCount, 0)
  assert.equal(m.lastPieceLength, 0)
})

test('inherited object keys are not fields: a torrent without "constructor" does not see one', () => {
  assert.throws(() => parseTorrent(torrentOf({ info: { name: 'x', 'piece length': 1, pieces: new Uint8Array(0), toString: 1 } })), { message: 'info.length (or info.files) is missing' })
})
