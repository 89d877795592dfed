/**
 * BEP 52 downloads from a libtorrent 2.0 seeder of torrents libtorrent made itself: v2-only
 * single-file to a stream (stdout), v2-only multi-file to a directory (`-o DIR`), and a hybrid,
 * each byte-identical. Skipped, with the reason, when /usr/bin/python3 has no libtorrent.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { main } from '../../lib/cli/main.js'
import { parseMagnet } from '../../lib/magnet/parse.js'
import { download } from '../../lib/session/download.js'
import { downloadToDisk } from '../../lib/session/download-to-disk.js'
import { fetchMagnetMetadata } from '../../lib/session/magnet-metadata.js'
import { seedFromDisk } from '../../lib/session/seed.js'
import { fakeIO, collect } from '../helpers.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'

export const PY = '/usr/bin/python3'
const hasLibtorrent = spawnSync(PY, ['-c', 'import libtorrent'], { timeout: 30_000 }).status === 0
export const skip = hasLibtorrent ? false : `${PY} cannot import libtorrent (apt-get install python3-libtorrent)`
/** 64 KiB pieces: four 16 KiB blocks a piece, so each piece hash is a real subtree. */
const PIECE_LENGTH = 64 * 1024

export interface Seeded { port: number, v1: string | null, v2: string, torrent: string }

interface Cleanup { after: (fn: () => void | Promise<void>) => void }

/** libtorrent makes a `mode` torrent of `data` and seeds it; resolves once it seeds. */
export async function seed (mode: 'v2' | 'hybrid', data: string, t: Cleanup, pieceLength = PIECE_LENGTH): Promise<Seeded> {
  // The script stays in the source tree (tsc copies nothing else to dist/).
  const script = fileURLToPath(new URL('../../../test/v2/libtorrent-v2-seeder.py', import.meta.url))
  const torrent = `${data}.torrent`
  const child: ChildProcess = spawn(PY, [script, mode, data, torrent, String(pieceLength)], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.after(() => { child.stdin?.end(); if (child.exitCode === null) child.kill() })
  const line = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error('libtorrent seeder did not start')), 90_000)
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) { clearTimeout(timer); resolve(out.slice(0, nl)) }
    })
    child.on('exit', code => { clearTimeout(timer); reject(new Error(`seeder exited ${String(code)}: ${out}`)) })
  })
  return { ...(JSON.parse(line) as Omit<Seeded, 'torrent'>), torrent }
}

/** Deterministic bytes that differ per name (so a misplaced piece shows). */
export function bytes (name: string, n: number): Buffer {
  const out = Buffer.alloc(n)
  let at = 0
  for (let i = 0; at < n; i++) at += createHash('sha256').update(`${name}:${i}`).digest().copy(out, at)
  return out
}

/** Lengths that hit BEP 52's corners: a short last block, one block, under a block, empty. */
export const MULTI: Record<string, number> = {
  'a.bin': 5 * PIECE_LENGTH + 12_345,
  'sub/b.bin': PIECE_LENGTH + 16_384,
  'sub/c.bin': 5,
  'sub/empty.txt': 0,
  'z.bin': 3 * PIECE_LENGTH
}

export function tempDir (t: Cleanup): string {
  const dir = mkdtempSync(join(tmpdir(), 'bt-v2-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export function writeTree (root: string, files: Record<string, number>): void {
  for (const [path, n] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), bytes(path, n))
  }
}

/** One file of `length` seeded-by-name bytes in a temp dir, seeded by libtorrent as v2. */
export async function seedSingle (t: Cleanup, name: string, length: number, pieceLength = PIECE_LENGTH): Promise<{ data: Buffer, s: Seeded }> {
  const file = join(tempDir(t), `${name}.bin`)
  const data = bytes(name, length)
  writeFileSync(file, data)
  return { data, s: await seed('v2', file, t, pieceLength) }
}

export function peersOf (s: Seeded): { peers: { host: string, port: number }[], trackers: false, webSeeds: false, utp: 'off' } {
  return { peers: [{ host: '127.0.0.1', port: s.port }], trackers: false, webSeeds: false, utp: 'off' }
}

/** Downloads to `out`; resolves with the piece bytes that came from peers. */
export async function toDirectory (meta: Metainfo, s: Seeded, out: string): Promise<number> {
  const dl = await downloadToDisk(meta, out, { ...peersOf(s), listen: false, stallTimeoutMs: 30_000 })
  try { await dl.done } finally { await dl.stop() }
  return dl.progress.downloaded
}

const sum = (files: Record<string, number>): number => Object.values(files).reduce((a, b) => a + b, 0)

test('BEP 52: a v2-only single-file torrent from a libtorrent seeder streams byte-identical (stdout)', { skip }, async t => {
  const { data, s } = await seedSingle(t, 'single', 7 * PIECE_LENGTH + 1000)
  const meta = parseTorrent(readFileSync(s.torrent))
  assert.equal(meta.version, 'v2')
  assert.equal(meta.infoHashV2Hex, s.v2)
  const got = await collect(download(meta, { ...peersOf(s), stallTimeoutMs: 30_000 }))
  assert.ok(got.equals(data), 'the streamed bytes are the file')
})

const BIN = fileURLToPath(new URL('../../../bin/bt-stream.js', import.meta.url))

test('BEP 52: `bt-stream download v2.torrent --peer ...` writes the v2-only file to stdout byte-identical', { skip }, async t => {
  const { data, s } = await seedSingle(t, 'cli', 9 * PIECE_LENGTH + 4321)
  const child = spawn(process.execPath, [BIN, 'download', s.torrent, '--peer', `127.0.0.1:${s.port}`, '--no-trackers', '--no-dht', '--no-utp', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => { if (child.exitCode === null) child.kill() })
  const out: Buffer[] = []
  let err = ''
  child.stdout.on('data', (b: Buffer) => out.push(b))
  child.stderr.on('data', (b: Buffer) => { err += b.toString() })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  assert.equal(code, 0, err)
  assert.ok(Buffer.concat(out).equals(data), 'stdout is the file')
})

test('BEP 52: a v2-only multi-file torrent from a libtorrent seeder lands byte-identical in a directory (-o DIR), no padding requested or written', { skip }, async t => {
  const dir = tempDir(t)
  writeTree(join(dir, 'multi'), MULTI)
  const s = await seed('v2', join(dir, 'multi'), t)
  const meta = parseTorrent(readFileSync(s.torrent))
  assert.equal(meta.version, 'v2')
  assert.ok(meta.files.some(f => f.padding), 'libtorrent aligned the files with padding')
  const out = join(dir, 'out')
  mkdirSync(out)
  // One peer, no endgame duplicates: every byte fetched is file data (BEP 52: "truncated by the end of a file").
  assert.equal(await toDirectory(meta, s, out), sum(MULTI))
  for (const [path, n] of Object.entries(MULTI)) {
    assert.ok(readFileSync(join(out, 'multi', path)).equals(bytes(path, n)), `${path} is byte-identical`)
  }
  // Run again: every piece on disk verifies with the merkle check (resume), nothing is fetched.
  const again = await downloadToDisk(meta, out, { ...peersOf(s), listen: false })
  await again.done
  await again.stop()
  assert.equal(again.progress.resumed, again.progress.total, 'everything resumed from disk')
  assert.equal(again.progress.downloaded, 0)
  // Streamed (stdout): the torrent's byte stream holds the padding as zeros, like BEP 47 padding
  // files, so ranges and --tar count bytes the same way for v2 as for v1.
  const whole = await collect(download(meta, { ...peersOf(s), range: { start: 0, end: meta.length }, stallTimeoutMs: 30_000 }))
  assert.ok(whole.equals(Buffer.concat(meta.files.map(f => f.padding ? Buffer.alloc(f.length) : bytes(f.path.slice('multi/'.length), f.length)))), 'the whole byte stream, padding as zeros')
  const b = meta.files.findIndex(f => f.path === 'multi/sub/b.bin')
  assert.ok((await collect(download(meta, { ...peersOf(s), file: b, stallTimeoutMs: 30_000 }))).equals(bytes('sub/b.bin', MULTI['sub/b.bin'] as number)), 'one file streams byte-identical')
})

test('BEP 52: a hybrid torrent from a libtorrent seeder downloads byte-identical (stdout and -o DIR), also from its urn:btmh magnet alone', { skip }, async t => {
  const dir = tempDir(t)
  writeTree(join(dir, 'hybrid'), MULTI)
  const s = await seed('hybrid', join(dir, 'hybrid'), t)
  const meta = parseTorrent(readFileSync(s.torrent))
  assert.equal(meta.version, 'hybrid')
  assert.equal(meta.infoHashHex, s.v1)
  assert.equal(meta.infoHashV2Hex, s.v2)
  const out = join(dir, 'out')
  mkdirSync(out)
  await toDirectory(meta, s, out)
  for (const [path, n] of Object.entries(MULTI)) {
    assert.ok(readFileSync(join(out, 'hybrid', path)).equals(bytes(path, n)), `${path} is byte-identical`)
  }
  const a = meta.files.findIndex(f => f.path === 'hybrid/a.bin')
  const got = await collect(download(meta, { ...peersOf(s), file: a, stallTimeoutMs: 30_000 }))
  assert.ok(got.equals(bytes('a.bin', MULTI['a.bin'] as number)), 'one file of it streams byte-identical')
  // Its v2 hash alone (urn:btmh): the metadata comes from the v2 swarm (truncated hash), then the
  // download runs as v1 (SHA-1) on the hybrid's v1 hash.
  const m = await fetchMagnetMetadata(parseMagnet(`magnet:?xt=urn:btmh:1220${s.v2}&x.pe=127.0.0.1:${s.port}`), { trackers: false, utp: 'off', timeoutMs: 60_000 })
  assert.equal(m.meta.version, 'hybrid')
  assert.equal(m.meta.infoHashHex, s.v1)
  const z = m.meta.files.findIndex(f => f.path === 'hybrid/z.bin')
  assert.ok((await collect(download(m.meta, { ...peersOf(s), file: z, stallTimeoutMs: 30_000 }))).equals(bytes('z.bin', MULTI['z.bin'] as number)), 'from the btmh magnet: byte-identical')
})

test('BEP 52: a v2-only magnet (urn:btmh) from a libtorrent seeder: metadata by BEP 9 on the truncated hash, piece layers by hash requests, files byte-identical (-o DIR and a stream)', { skip }, async t => {
  const dir = tempDir(t)
  // 16 KiB pieces and a 600-piece file: its layer takes two hash requests (512 hashes at most each).
  const files = { ...MULTI, 'big.bin': 600 * 16384 - 1000 }
  writeTree(join(dir, 'mag'), files)
  const s = await seed('v2', join(dir, 'mag'), t, 16384)
  const uri = `magnet:?xt=urn:btmh:1220${s.v2}&dn=mag&x.pe=127.0.0.1:${s.port}`

  const got = await fetchMagnetMetadata(parseMagnet(uri), { trackers: false, utp: 'off', timeoutMs: 60_000 })
  assert.equal(got.meta.version, 'v2')
  assert.equal(got.meta.infoHashV2Hex, s.v2)
  assert.equal(got.meta.pieceLayersStatus, 'complete', 'the piece layers came from the peer')
  const fromTorrent = parseTorrent(readFileSync(s.torrent))
  assert.deepEqual([...(got.meta.pieceLayers ?? [])].map(([k, v]) => [k, Buffer.from(v).toString('hex')]), [...(fromTorrent.pieceLayers ?? [])].map(([k, v]) => [k, Buffer.from(v).toString('hex')]))
  const big = got.meta.files.findIndex(f => f.path === 'mag/big.bin')
  const streamed = await collect(download(got.meta, { ...peersOf(s), file: big, stallTimeoutMs: 30_000 }))
  assert.ok(streamed.equals(bytes('big.bin', files['big.bin'])), 'big.bin streams byte-identical')

  const out = join(dir, 'out')
  mkdirSync(out)
  const io = fakeIO()
  const code = await main(['download', uri, '-o', out, '--no-dht', '--no-utp', '--quiet'], io)
  assert.equal(code, 0, io.err())
  for (const [path, n] of Object.entries(files)) {
    assert.ok(readFileSync(join(out, 'mag', path)).equals(bytes(path, n)), `${path} is byte-identical`)
  }
})

/**
 * libtorrent 2.0 asks for a file's last block whole (into the padding, and past the last file's
 * end): the Seeder's request check must use `uploadGeometry(meta)` (lib/metainfo/geometry.ts),
 * a change in lib/seed/seeder.ts (SeedGeometry gains `version`; ServedPeers gets
 * `geometry: uploadGeometry(opts.meta)`). Until then the leecher stalls on those blocks.
 */

test('BEP 52 upload: bt-stream seeds a v2-only torrent libtorrent made (pieces checked with the merkle tree), and a libtorrent 2.0 leecher gets every file byte-identical', { skip }, async t => {
  const dir = tempDir(t)
  writeTree(join(dir, 'up'), MULTI)
  // libtorrent makes the torrent; the leecher is told only of bt-stream (no tracker, DHT or LSD).
  const maker = await seed('v2', join(dir, 'up'), t)
  const meta = parseTorrent(readFileSync(maker.torrent))
  const session = await seedFromDisk(meta, dir, { trackers: false, utp: 'off', host: '127.0.0.1' })
  t.after(() => session.close())
  assert.equal(session.have.count(), meta.pieceCount, 'every piece on disk verifies (SHA-256 merkle, BEP 52)')
  const save = join(dir, 'leech')
  mkdirSync(save)
  const script = fileURLToPath(new URL('../../../interop/clients/libtorrent-client.py', import.meta.url))
  const child = spawn(PY, [script, 'leech', maker.torrent, save, '127.0.0.1', '0', `127.0.0.1:${session.port}`], { stdio: ['pipe', 'pipe', 'pipe'] })
  t.after(() => { child.stdin?.end(); if (child.exitCode === null) child.kill() })
  let log = ''
  child.stderr?.on('data', (b: Buffer) => { log = (log + b.toString()).slice(-4000) })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`libtorrent did not finish: ${log}`)), 30_000)
    child.stdout?.on('data', (b: Buffer) => { if (b.toString().includes('"finished"')) { clearTimeout(timer); resolve() } })
    child.on('exit', code => { clearTimeout(timer); reject(new Error(`leecher exited ${String(code)}: ${log}`)) })
  })
  for (const [path, n] of Object.entries(MULTI)) {
    assert.ok(readFileSync(join(save, 'up', path)).equals(bytes(path, n)), `${path} is byte-identical at libtorrent`)
  }
})

test('BEP 52: beside a peer corrupting its blocks, a v2 download from libtorrent is exact, the corrupt peer is banned and libtorrent never', { skip }, async t => {
  const { data, s } = await seedSingle(t, 'blame', 40 * PIECE_LENGTH + 777)
  const meta = parseTorrent(readFileSync(s.torrent))
  const corrupt = await startFakeSeeder(meta, data, { kind: 'corrupt' })
  t.after(() => corrupt.close())
  // The corrupt peer comes first, alone, so its blocks are surely taken (libtorrent is faster and
  // would otherwise leave it nothing); libtorrent joins once it is banned.
  const stream = download(meta, { ...peersOf(s), peers: [{ host: '127.0.0.1', port: corrupt.port }], stallTimeoutMs: 30_000 })
  const banned: string[] = []
  stream.on('peer-banned', (addr, reason) => {
    banned.push(`${addr.port} ${reason}`)
    if (addr.port === corrupt.port) stream.swarm.addPeer({ host: '127.0.0.1', port: s.port }, 'manual')
  })
  const got = await collect(stream)
  assert.ok(got.equals(data), 'byte-identical')
  t.diagnostic(`bans: ${banned.join('; ')}; corrupt peer sent ${corrupt.sent()} blocks; hash failures ${stream.progress.hashFailures}; wasted ${stream.progress.wasted}`)
  assert.ok(banned.some(b => b.startsWith(`${corrupt.port} `)), 'the corrupt peer is banned')
  assert.ok(!banned.some(b => b.startsWith(`${s.port} `)), 'libtorrent is never banned')
})

test('BEP 52 block streaming from libtorrent 2.0: block hashes answered (v2 handshake), verified blocks leave before their piece is whole, output byte-identical, nobody banned', { skip }, async t => {
  const { data, s } = await seedSingle(t, 'blocks', 9 * 256 * 1024 + 4321, 256 * 1024)
  const meta = parseTorrent(readFileSync(s.torrent))
  assert.equal(meta.version, 'v2')
  const stream = download(meta, { ...peersOf(s), stallTimeoutMs: 30_000 })
  const banned: string[] = []
  stream.on('peer-banned', (_a, why) => banned.push(why))
  const got = await collect(stream)
  assert.ok(got.equals(data), 'byte-identical')
  assert.deepEqual(banned, [])
  assert.ok(stream.merger.prefixBytes > 0, 'some bytes left as verified blocks, before their piece was whole')
})
