import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import test from 'node:test'
import createTorrentRef from 'create-torrent'
import { main } from '../../lib/cli/main.js'
import { autoPieceLength, createTorrent } from '../../lib/metainfo/create.js'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { checkExisting } from '../../lib/storage/check-existing.js'
import { fakeIO, fixture, FIXTURES, prng } from '../helpers.js'
import { tempDir } from '../storage/helpers.js'

/** Files created out of order (readdir order is not sorted order), one hidden, one empty, one nested. */
const TREE: ReadonlyArray<readonly [string, number]> = [
  ['zeta.bin', 70000], ['a/b/deep.bin', 40000], ['.hidden', 10], ['empty.txt', 0], ['B-upper.txt', 1234], ['a-dash.bin', 17000], ['a/one.bin', 16384]
]
const SORTED = ['.hidden', 'B-upper.txt', 'a-dash.bin', 'a/b/deep.bin', 'a/one.bin', 'empty.txt', 'zeta.bin']

function makeTree (root: string): Map<string, Buffer> {
  const rand = prng(123)
  const out = new Map<string, Buffer>()
  for (const [rel, size] of TREE) {
    const data = Buffer.alloc(size)
    for (let i = 0; i < size; i++) data[i] = Math.floor(rand() * 256)
    mkdirSync(dirname(join(root, rel)), { recursive: true })
    writeFileSync(join(root, rel), data)
    out.set(rel, data)
  }
  return out
}

/** create-torrent's answer for the same files in the same order and piece length. */
async function reference (name: string, files: ReadonlyArray<readonly [string, Buffer]>, pieceLength: number): Promise<Metainfo> {
  const inputs = files.map(([rel, data]) => Object.assign(Buffer.from(data), { name: `${name}/${rel}` }))
  const torrent = await new Promise<Buffer>((resolve, reject) => {
    createTorrentRef(files.length === 1 && !files[0]?.[0].includes('/') ? inputs[0] as Buffer : inputs, { name, pieceLength, filterJunkFiles: false, createdBy: 'x', creationDate: 0 }, (err, t) => err === null ? resolve(t) : reject(err))
  })
  return parseTorrent(torrent)
}

test('BEP 3 create: a directory becomes a multi-file torrent, files sorted by path; create-torrent agrees on the info hash', async () => {
  const { dir, cleanup } = tempDir('create')
  try {
    const src = join(dir, 'payload')
    const data = makeTree(src)
    const { meta } = await createTorrent(src, { pieceLength: 16384, creationDate: null })
    assert.equal(meta.name, 'payload')
    assert.equal(meta.multiFile, true)
    assert.deepEqual(meta.files.map(f => f.path), SORTED.map(p => `payload/${p}`))
    assert.deepEqual(meta.files.map(f => f.length), SORTED.map(p => data.get(p)?.length))
    // The source tree is a complete download of its own torrent: every piece verifies in place.
    assert.equal((await checkExisting(meta, dir)).count(), meta.pieceCount)
  } finally { cleanup() }
})

test('BEP 3 create: create-torrent (given the same files in the same order) agrees on the info hash', async () => {
  const { dir, cleanup } = tempDir('create')
  try {
    const src = join(dir, 'payload')
    const data = makeTree(src)
    rmSync(join(src, 'empty.txt'))
    // create-torrent@6 hashes the piece after an empty Buffer input wrongly (its last piece of
    // [20000 B, 0 B, 20000 B] differs from the SHA-1 of those bytes), so the empty file is
    // checked against mktorrent instead (next test).
    const files = SORTED.filter(p => p !== 'empty.txt')
    const { meta } = await createTorrent(src, { pieceLength: 16384 })
    const ref = await reference('payload', files.map(p => [p, data.get(p) as Buffer] as const), 16384)
    assert.deepEqual(ref.files.map(f => f.path), meta.files.map(f => f.path))
    assert.deepEqual(ref.pieceHashes, meta.pieceHashes)
    assert.equal(meta.infoHashHex, ref.infoHashHex)
  } finally { cleanup() }
})

test('BEP 3 create: fixtures/data/album (with an empty file) gives mktorrent\'s info hash (fixtures/multi.torrent)', async () => {
  const { meta } = await createTorrent(fileURLToPath(new URL('data/album', FIXTURES)), { pieceLength: 32768 })
  const mk = parseTorrent(fixture('multi.torrent'))
  assert.deepEqual(meta.files.map(f => [f.path, f.length]), mk.files.map(f => [f.path, f.length]))
  assert.equal(meta.infoHashHex, mk.infoHashHex)
})

test('BEP 3 create: a single file becomes a single-file torrent (info.length); create-torrent agrees', async () => {
  const { dir, cleanup } = tempDir('create')
  try {
    const file = join(dir, 'movie.bin')
    const data = Buffer.alloc(100001)
    const rand = prng(5)
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 256)
    writeFileSync(file, data)
    const { meta } = await createTorrent(file, { pieceLength: 32768 })
    assert.equal(meta.multiFile, false)
    assert.equal(meta.length, 100001)
    assert.equal(meta.pieceCount, 4)
    const ref = await reference('movie.bin', [['movie.bin', data]], 32768)
    assert.equal(meta.infoHashHex, ref.infoHashHex)
    assert.equal((await checkExisting(meta, file)).count(), 4)
  } finally { cleanup() }
})

test('create: the automatic piece length is a power of two in 16 KiB..16 MiB giving 1000-2000 pieces when it can', () => {
  assert.equal(autoPieceLength(1), 16 * 1024)
  assert.equal(autoPieceLength(2000 * 16 * 1024), 16 * 1024)
  assert.equal(autoPieceLength(2000 * 16 * 1024 + 1), 32 * 1024)
  for (const size of [100e6, 256 * 2 ** 20, 4.7e9, 30e9]) {
    const pl = autoPieceLength(size)
    const pieces = Math.ceil(size / pl)
    assert.ok(pieces > 1000 && pieces <= 2000, `${size} bytes: ${pieces} pieces of ${pl}`)
  }
  assert.equal(autoPieceLength(2 ** 40), 16 * 2 ** 20, 'capped at 16 MiB')
})

test('bt-stream create: trackers become BEP 12 tiers, --private sets BEP 27, comment, -l with a K suffix', async () => {
  const { dir, cleanup } = tempDir('create')
  try {
    const src = join(dir, 'payload')
    makeTree(src)
    const out = join(dir, 'x.torrent')
    const io = fakeIO()
    const code = await main(['create', src, '-o', out, '-t', 'http://127.0.0.1:6969/announce', '--tracker', 'udp://127.0.0.1:6970', '--private', '-c', 'made in a test', '-l', '32K'], io)
    assert.equal(code, 0, io.err())
    const meta = parseTorrent(readFileSync(out))
    assert.deepEqual(meta.announce, [['http://127.0.0.1:6969/announce'], ['udp://127.0.0.1:6970']])
    assert.equal(meta.private, true)
    assert.equal(meta.comment, 'made in a test')
    assert.equal(meta.pieceLength, 32768)
    assert.match(io.out(), new RegExp(`^${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${meta.infoHashHex} "payload", 7 files`))

    const chunks: Buffer[] = []
    const binary = { ...fakeIO(), stdout: new Writable({ write (chunk: Buffer, _enc, cb) { chunks.push(chunk); cb() } }) }
    assert.equal(await main(['create', src, '-o', '-', '--no-date', '-l', '32768'], binary), 0)
    // -o - writes the .torrent itself to stdout.
    const piped = parseTorrent(Buffer.concat(chunks))
    assert.equal(piped.creationDate, undefined)
    assert.equal(piped.private, false)
    assert.deepEqual(piped.pieceHashes, meta.pieceHashes)
  } finally { cleanup() }
})

test('bt-stream create: usage errors exit 2, a missing input exits 1 with one line', async () => {
  for (const argv of [['create'], ['create', 'x'], ['create', 'x', '-o', 'y', '-l', '1000'], ['create', 'x', '-o', 'y', '-l', '8K'], ['create', 'x', '-o', 'y', '-t', 'ftp://nope']]) {
    const io = fakeIO()
    assert.equal(await main(argv, io), 2, argv.join(' '))
  }
  const io = fakeIO()
  assert.equal(await main(['create', '/nonexistent/bt-stream-test', '-o', '/tmp/never.torrent'], io), 1)
  assert.equal(io.err(), 'bt-stream: cannot read "/nonexistent/bt-stream-test": no such file or directory (ENOENT)\n')
})

/** Whether `file args` runs and exits 0: how a test decides a tool is installed. */
function runs (file: string, args: string[]): boolean {
  try { execFileSync(file, args, { stdio: 'ignore', timeout: 10000 }); return true } catch { return false }
}
const onPath = (tool: string): boolean => runs('which', [tool])

/** Our torrent of makeTree() at 32 KiB pieces, written to `dir`. */
async function ourTorrentFile (dir: string): Promise<{ src: string, file: string, meta: Metainfo }> {
  const src = join(dir, 'payload')
  makeTree(src)
  const ours = await createTorrent(src, { pieceLength: 32768 })
  const file = join(dir, 'ours.torrent')
  writeFileSync(file, ours.torrent)
  return { src, file, meta: ours.meta }
}

// The other implementations are checks that skip, saying so, when the tool is absent; once the
// tool is there, a failed call fails the test. .ci/run installs them.

test('create: mktorrent, given the same tree and piece length, makes the same info hash', async (t) => {
  if (!onPath('mktorrent')) { t.skip('mktorrent is not installed'); return }
  const { dir, cleanup } = tempDir('create')
  t.after(cleanup)
  const { src, meta } = await ourTorrentFile(dir)
  const mk = join(dir, 'mk.torrent')
  execFileSync('mktorrent', ['-l', '15', '-o', mk, src], { stdio: 'ignore', timeout: 10000 })
  assert.equal(meta.infoHashHex, parseTorrent(readFileSync(mk)).infoHashHex)
})

test('create: transmission-show reads our .torrent with the same info hash', async (t) => {
  if (!onPath('transmission-show')) { t.skip('transmission-show (transmission-cli) is not installed'); return }
  const { dir, cleanup } = tempDir('create')
  t.after(cleanup)
  const { file, meta } = await ourTorrentFile(dir)
  const shown = execFileSync('transmission-show', [file], { encoding: 'utf8', timeout: 10000 })
  assert.match(shown, new RegExp(`Hash: ${meta.infoHashHex}`))
})

test('create: libtorrent (python3-libtorrent) reads our .torrent: same info hash, file count, piece length', async (t) => {
  if (!runs(PYTHON, ['-c', 'import libtorrent'])) { t.skip(`python3-libtorrent is not installed (${PYTHON} -c "import libtorrent" failed)`); return }
  const { dir, cleanup } = tempDir('create')
  t.after(cleanup)
  const { file, meta } = await ourTorrentFile(dir)
  // No catch: a .torrent libtorrent rejects throws here and fails the test.
  const lt = execFileSync(PYTHON, ['-c', 'import sys, libtorrent as lt; t = lt.torrent_info(sys.argv[1]); print(t.info_hash(), t.num_files(), t.piece_length())', file], { encoding: 'utf8', timeout: 10000 })
  assert.equal(lt.trim(), `${meta.infoHashHex} ${meta.files.length} 32768`)
})

/** The system Python, where Debian's python3-libtorrent lives (a virtualenv's python3 would not see it). */
const PYTHON = '/usr/bin/python3'

test('bt-stream create: an abort (^C) while hashing writes no .torrent and prints nothing', async () => {
  const { dir, cleanup } = tempDir('create')
  try {
    const src = join(dir, 'payload')
    makeTree(src)
    const ac = new AbortController()
    ac.abort(new Error('interrupted'))
    const io = { ...fakeIO(), signal: ac.signal }
    const out = join(dir, 'never.torrent')
    assert.equal(await main(['create', src, '-o', out], io), 1)
    assert.equal(io.err(), '')
    assert.equal(existsSync(out), false)
  } finally { cleanup() }
})
