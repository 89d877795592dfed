import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { main } from '../../lib/cli/main.js'
import { createTorrent } from '../../lib/metainfo/create.js'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import { fakeIO, fixture, FIXTURES } from '../helpers.js'
import { hex, V2_FIXTURES, v2Expected } from './helpers.js'

const dataPath = (rel: string): string => fileURLToPath(new URL(`data/${rel}`, V2_FIXTURES))

for (const [name, want] of Object.entries(v2Expected)) {
  test(`create --${want.v2Only ? 'v2' : 'hybrid'}: ${want.input} in ${want.pieceLength / 1024} KiB pieces has libtorrent's info hashes (${name})`, async () => {
    const { torrent, meta } = await createTorrent(dataPath(want.input), { pieceLength: want.pieceLength, version: want.v2Only ? 'v2' : 'hybrid', creationDate: null })
    assert.equal(meta.infoHashV2Hex, want.infoHashV2)
    if (want.infoHashV1 !== null) assert.equal(meta.infoHashHex, want.infoHashV1)
    assert.deepEqual(Object.fromEntries([...(meta.pieceLayers ?? new Map())].map(([k, v]) => [k, hex(v)])), want.pieceLayers)
    // Reparsed from bytes, as any client would (layers checked against the roots again).
    assert.equal(parseTorrent(torrent, { allowV2Only: true }).infoHashV2Hex, want.infoHashV2)
  })
}

test('create --hybrid / --v2 of fixtures/data/album equal libtorrent\'s hybrid.torrent and v2only.torrent', async () => {
  const album = fileURLToPath(new URL('data/album', FIXTURES))
  const hybrid = await createTorrent(album, { pieceLength: 16384, version: 'hybrid', creationDate: null })
  const lt = parseTorrent(fixture('hybrid.torrent'))
  assert.equal(hybrid.meta.infoHashHex, lt.infoHashHex)
  assert.equal(hybrid.meta.infoHashV2Hex, lt.infoHashV2Hex)
  const v2 = await createTorrent(album, { pieceLength: 16384, version: 'v2', creationDate: null })
  assert.equal(v2.meta.infoHashV2Hex, parseTorrent(fixture('v2only.torrent'), { allowV2Only: true }).infoHashV2Hex)
})

/** libtorrent via the system Python (python3-libtorrent), when this machine has it. */
function libtorrentHashes (dir: string, input: string, pieceLength: number, v2Only: boolean): { v1: string, v2: string } | undefined {
  const script = `
import sys, libtorrent as lt
root, rel, pl, v2only = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == '1'
fs = lt.file_storage(); lt.add_files(fs, root + '/' + rel)
ct = lt.create_torrent(fs, pl, flags=lt.create_torrent.v2_only if v2only else 0)
lt.set_piece_hashes(ct, root)
ih = lt.torrent_info(ct.generate()).info_hashes()
print((ih.v1.to_bytes().hex() if ih.has_v1() else '') + ',' + ih.v2.to_bytes().hex())
`
  const r = spawnSync('/usr/bin/python3', ['-c', script, dir, input, String(pieceLength), v2Only ? '1' : '0'], { encoding: 'utf8', timeout: 60_000 })
  if (r.status !== 0) return undefined
  const [v1, v2] = r.stdout.trim().split(',')
  return { v1: v1 ?? '', v2: v2 ?? '' }
}

test('create --v2 / --hybrid equal libtorrent 2.0 run live: tree order, executables, hidden files, one-piece and empty files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bt-v2-create-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const put = (rel: string, n: number, mode = 0o644): void => {
    mkdirSync(join(dir, rel, '..'), { recursive: true })
    writeFileSync(join(dir, rel), Buffer.alloc(n, rel.length))
    chmodSync(join(dir, rel), mode)
  }
  // 'a-b/x' sorts before 'a/y' as joined paths, after it in the tree ('a' < 'a-b').
  put('in/a-b/x.bin', 20000)
  put('in/a/y.bin', 65536) // exactly one 64 KiB piece
  put('in/a/z.bin', 0)
  put('in/.hidden', 100)
  put('in/run.sh', 40000, 0o755)
  put('in/é.txt', 5000)
  put('in/big.bin', 300000)
  let compared = 0
  for (const pieceLength of [16384, 65536]) {
    for (const v2Only of [true, false]) {
      const want = libtorrentHashes(dir, 'in', pieceLength, v2Only)
      if (want === undefined) { t.skip('python3-libtorrent is not installed'); return }
      const { meta } = await createTorrent(join(dir, 'in'), { pieceLength, version: v2Only ? 'v2' : 'hybrid', creationDate: null })
      assert.equal(meta.infoHashV2Hex, want.v2, `v2 hash, ${pieceLength}, ${v2Only ? 'v2' : 'hybrid'}`)
      if (!v2Only) assert.equal(meta.infoHashHex, want.v1, `v1 hash, ${pieceLength}`)
      compared++
    }
  }
  const single = libtorrentHashes(join(dir, 'in'), 'run.sh', 16384, false)
  const mine = await createTorrent(join(dir, 'in/run.sh'), { pieceLength: 16384, version: 'hybrid', creationDate: null })
  assert.deepEqual({ v1: mine.meta.infoHashHex, v2: mine.meta.infoHashV2Hex }, single)
  assert.equal(compared, 4)
})

test('bt-stream create --v2 / --hybrid: the summary names the v2 hash; both flags at once is a usage error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bt-v2-cli-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const want = v2Expected['v2-multi'] as (typeof v2Expected)[string]
  const io = fakeIO()
  assert.equal(await main(['create', dataPath('mixed'), '-o', join(dir, 'm.torrent'), '-l', '32K', '--v2', '--no-date'], io), 0)
  assert.match(io.out(), new RegExp(`: v2 ${want.infoHashV2} "mixed", 5 files`))
  const h = fakeIO()
  assert.equal(await main(['create', dataPath('mixed'), '-o', join(dir, 'h.torrent'), '-l', '32K', '--hybrid', '--no-date', '--json'], h), 0)
  const j = JSON.parse(h.out()) as { infoHash: string, infoHashV2: string, version: string }
  assert.deepEqual([j.version, j.infoHash, j.infoHashV2], ['hybrid', v2Expected['hybrid-multi']?.infoHashV1, v2Expected['hybrid-multi']?.infoHashV2])
  const both = fakeIO()
  assert.equal(await main(['create', dataPath('mixed'), '-o', join(dir, 'x.torrent'), '--v2', '--hybrid'], both), 2)
  assert.match(both.err(), /--v2 and --hybrid exclude each other/)
})
