/**
 * `--tar`: a multi-file torrent as a tar stream in torrent order while it downloads. The archive is
 * read back with tar-stream's extract and, when the system has one, with `tar`: every file
 * byte-identical, empty files present, BEP 47 padding files absent, and a reader that does not
 * read holds the download to its window.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import bencode from 'bencode'
import { extract, type Header } from 'tar-stream'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { tarOf, tarRange, TarOutput } from '../../lib/output/tar-output.js'
import { download } from '../../lib/session/download.js'
import { startFakeSeeder } from '../swarm/fake-seeder.js'
import { seededBytes } from '../swarm/fixture-torrent.js'

const BIN = new URL('../../../bin/bt-stream.js', import.meta.url).pathname
const PIECE = 16 * 1024
/** 2021-01-01T00:00:00Z: the torrent's creation date, which every entry's mtime must carry. */
const CREATED = 1609459200

interface Spec { path: string[], length: number, padding?: boolean }

/** A torrent with BEP 47 padding files (attr 'p', zeros in the byte stream), parsed by our parser. */
function makePadded (name: string, files: Spec[]): { meta: Metainfo, torrent: Uint8Array, data: Buffer, contents: Map<string, Buffer> } {
  const parts: Buffer[] = []
  const contents = new Map<string, Buffer>()
  for (const [i, f] of files.entries()) {
    const bytes = f.padding === true ? Buffer.alloc(f.length) : seededBytes(f.length, 101 + i)
    parts.push(bytes)
    if (f.padding !== true) contents.set([name, ...f.path].join('/'), bytes)
  }
  const data = Buffer.concat(parts)
  const hashes: Buffer[] = []
  for (let at = 0; at < data.length; at += PIECE) hashes.push(createHash('sha1').update(data.subarray(at, at + PIECE)).digest())
  const info = {
    name,
    'piece length': PIECE,
    pieces: Buffer.concat(hashes),
    files: files.map(f => f.padding === true ? { length: f.length, path: f.path, attr: 'p' } : { length: f.length, path: f.path })
  }
  const torrent = bencode.encode({ info, 'creation date': CREATED })
  return { meta: parseTorrent(torrent), torrent, data, contents }
}

/** Three files, a padding file to the piece boundary after the first, an empty one, a subdirectory. */
function album (): ReturnType<typeof makePadded> {
  const first = 3 * PIECE + 1000
  return makePadded('album', [
    { path: ['01 first.bin'], length: first },
    { path: ['.pad', String(PIECE - 1000)], length: PIECE - 1000, padding: true },
    { path: ['02 empty.txt'], length: 0 },
    { path: ['cd2', '03 third.bin'], length: 5 * PIECE + 7 }
  ])
}

interface Entry { header: Header, body: Buffer }

async function untar (tar: AsyncIterable<unknown> | Uint8Array): Promise<Entry[]> {
  const ex = extract()
  const entries: Entry[] = []
  const src = tar instanceof Uint8Array ? Readable.from([tar]) : tar
  const reading = (async () => {
    for await (const entry of ex) {
      const parts: Buffer[] = []
      for await (const c of entry) parts.push(Buffer.from(c as Uint8Array))
      entries.push({ header: entry.header, body: Buffer.concat(parts) })
    }
  })()
  await Promise.all([pipeline(src, ex as unknown as NodeJS.WritableStream), reading])
  return entries
}

/** Bytes in chunks of an odd size, so file boundaries fall inside chunks. */
function chunks (data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = []
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size))
  return out
}

function checkFiles (entries: Entry[], contents: Map<string, Buffer>, names: string[]): void {
  const files = entries.filter(e => e.header.type === 'file')
  assert.deepEqual(files.map(e => e.header.name), names, 'the chosen files, in torrent order, no padding file')
  for (const e of files) {
    const want = contents.get(e.header.name) as Buffer
    assert.equal(e.header.size, want.length, `${e.header.name}: exact size`)
    assert.ok(e.body.equals(want), `${e.header.name}: byte-identical`)
    assert.equal(e.header.mode, 0o644)
    assert.equal(e.header.mtime.getTime(), CREATED * 1000, 'mtime is the torrent\'s creation date')
  }
}

test('TarOutput: every file of the torrent in order, exact sizes, empty file kept, padding (BEP 47) skipped, directories first', async () => {
  const t = album()
  const tar = new TarOutput(t.meta)
  const entries = await untar(Readable.from(chunks(t.data, 7777)).pipe(tar as unknown as NodeJS.WritableStream) as unknown as AsyncIterable<unknown>)
  assert.deepEqual(entries.map(e => `${e.header.type} ${e.header.name}`), [
    'directory album/', 'file album/01 first.bin', 'file album/02 empty.txt',
    'directory album/cd2/', 'file album/cd2/03 third.bin'
  ])
  checkFiles(entries, t.contents, ['album/01 first.bin', 'album/02 empty.txt', 'album/cd2/03 third.bin'])
  for (const d of entries.filter(e => e.header.type === 'directory')) assert.equal(d.header.mode, 0o755)
})

test('TarOutput with files: only the chosen ones are entries; the bytes between them are dropped', async () => {
  const t = album()
  const files = [0, 3]
  const range = tarRange(t.meta, files)
  assert.deepEqual(range, { start: 0, end: t.data.length })
  const entries = await untar(Readable.from(chunks(t.data, 5000)).pipe(new TarOutput(t.meta, { ...range, files }) as unknown as NodeJS.WritableStream) as unknown as AsyncIterable<unknown>)
  checkFiles(entries, t.contents, ['album/01 first.bin', 'album/cd2/03 third.bin'])

  // One empty file alone: an empty range, one entry of size 0.
  const empty = tarRange(t.meta, [2])
  assert.equal(empty.end - empty.start, 0)
  const only = await untar(Readable.from([]).pipe(new TarOutput(t.meta, { ...empty, files: [2] }) as unknown as NodeJS.WritableStream) as unknown as AsyncIterable<unknown>)
  checkFiles(only, t.contents, ['album/02 empty.txt'])
})

test('download({ range }) and TarOutput refuse a range outside the torrent, and files outside the range', () => {
  const t = album()
  assert.throws(() => download(t.meta, { range: { start: 0, end: t.meta.length + 1 } }), RangeError)
  assert.throws(() => download(t.meta, { range: { start: 5, end: 4 } }), RangeError)
  assert.throws(() => new TarOutput(t.meta, { start: 0, end: 100, files: [3] }), /not inside the tar range/)
  assert.throws(() => tarRange(t.meta, [9]), /no file 9/)
})

test('TarOutput fails (the archive never ends as if whole) when the torrent bytes end early', async () => {
  const t = album()
  const tar = new TarOutput(t.meta)
  await assert.rejects(untar(Readable.from([t.data.subarray(0, 100)]).pipe(tar as unknown as NodeJS.WritableStream) as unknown as AsyncIterable<unknown>), /ended at 100 of/)
})

/** Runs the CLI with stdout collected; its stderr for the failure message. */
function runCli (args: string[], readBytes = Infinity): Promise<{ code: number | null, out: Buffer, err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let err = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`bt-stream ${args.join(' ')} did not finish: ${err}`)) }, 90_000)
    let got = 0
    child.stdout.on('data', (c: Buffer) => {
      out.push(c)
      got += c.length
      // As `| head -c N` does: close the pipe once it has enough.
      if (got >= readBytes) child.stdout.destroy()
    })
    child.stderr.on('data', (c: Buffer) => { err += c.toString() })
    child.on('close', code => { clearTimeout(timer); resolve({ code, out: Buffer.concat(out), err }) })
  })
}

const hasTar = spawnSync('tar', ['--version']).status === 0

test('bt-stream album.torrent --tar | tar x: the files as the torrent holds them, from a real swarm', async (t) => {
  const a = album()
  const seeder = await startFakeSeeder(a.meta, a.data, { kind: 'honest' })
  t.after(() => seeder.close())
  const dir = mkdtempSync(join(tmpdir(), 'bt-tar-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'album.torrent'), a.torrent)
  const swarm = ['--peer', `127.0.0.1:${seeder.port}`, '--no-trackers', '--no-dht', '--quiet']

  const all = await runCli([join(dir, 'album.torrent'), '--tar', ...swarm])
  assert.equal(all.code, 0, all.err)
  checkFiles(await untar(all.out), a.contents, ['album/01 first.bin', 'album/02 empty.txt', 'album/cd2/03 third.bin'])
  if (hasTar) {
    const listing = execFileSync('tar', ['tvf', '-'], { input: all.out, encoding: 'utf8' })
    assert.match(listing, /album\/02 empty\.txt/)
    assert.doesNotMatch(listing, /\.pad/)
    const x = join(dir, 'x')
    execFileSync('mkdir', [x])
    execFileSync('tar', ['xf', '-', '-C', x], { input: all.out })
    for (const [path, bytes] of a.contents) assert.ok(readFileSync(join(x, path)).equals(bytes), `tar x: ${path}`)
    assert.equal(statSync(join(x, 'album/02 empty.txt')).size, 0)
  } else {
    t.diagnostic('no system tar: checked with tar-stream only')
  }

  // --file picks files: a tar of those only.
  const some = await runCli([join(dir, 'album.torrent'), '--tar', '--file', '3', '--file', 'album/02 empty.txt', ...swarm])
  assert.equal(some.code, 0, some.err)
  checkFiles(await untar(some.out), a.contents, ['album/02 empty.txt', 'album/cd2/03 third.bin'])

  // Only an empty file: nothing to fetch, one entry of size 0.
  const empty = await runCli([join(dir, 'album.torrent'), '--tar', '--file', '2', ...swarm])
  assert.equal(empty.code, 0, empty.err)
  checkFiles(await untar(empty.out), a.contents, ['album/02 empty.txt'])

  // A reader that has seen enough (`| head -c`) is not a failure, as for a plain download.
  const head = await runCli([join(dir, 'album.torrent'), '--tar', ...swarm], 1000)
  assert.equal(head.code, 0, head.err)

  const both = await runCli([join(dir, 'album.torrent'), '--tar', '-o', join(dir, 'out'), ...swarm])
  assert.equal(both.code, 2, 'a usage error')
  assert.match(both.err, /--tar writes to stdout/)
})

test('a tar reader that does not read holds the download to its window; then every byte arrives', async (t) => {
  const total = 8 * 1024 * 1024
  const a = makePadded('big', [
    { path: ['a.bin'], length: total / 2 - 5 },
    { path: ['.pad', '5'], length: 5, padding: true },
    { path: ['b.bin'], length: total / 2 }
  ])
  const seeder = await startFakeSeeder(a.meta, a.data, { kind: 'honest' })
  t.after(() => seeder.close())
  const stream = download(a.meta, { range: tarRange(a.meta), peers: [{ host: '127.0.0.1', port: seeder.port }], trackers: false, windowBytes: 256 * 1024 })
  const tar = tarOf(stream)
  // Nobody reads the tar: wait until the swarm stops (no verified byte for a while).
  let last = -1
  for (let i = 0; i < 100; i++) {
    await new Promise(resolve => setTimeout(resolve, 300))
    const now = stream.progress.verified
    if (now === last && now > 0) break
    last = now
  }
  // The window (256 KiB), the download's own output buffer and the tar streams' small buffers.
  const BOUND = 3 * 1024 * 1024
  t.diagnostic(`verified while nobody read: ${stream.progress.verified} of ${total} bytes`)
  assert.ok(stream.progress.verified <= BOUND, `held at ${stream.progress.verified} bytes of ${total} while nobody read`)
  const entries = await untar(tar)
  assert.deepEqual(entries.map(e => e.header.name), ['big/', 'big/a.bin', 'big/b.bin'])
  assert.ok(entries[1]?.body.equals(a.contents.get('big/a.bin') as Buffer))
  assert.ok(entries[2]?.body.equals(a.contents.get('big/b.bin') as Buffer))
})

test('tarOf: closing the archive early stops the download (its swarm and its stream)', async (t) => {
  const a = album()
  const seeder = await startFakeSeeder(a.meta, a.data, { kind: 'slow', delayMs: 50 })
  t.after(() => seeder.close())
  const stream = download(a.meta, { range: tarRange(a.meta), peers: [{ host: '127.0.0.1', port: seeder.port }], trackers: false })
  const tar = tarOf(stream)
  for await (const chunk of tar) { assert.ok(chunk.byteLength > 0); break }
  await new Promise<void>(resolve => { if (stream.destroyed) resolve(); else stream.once('close', () => resolve()) })
  assert.ok(stream.destroyed, 'the download closed with its archive')
  await stream.stopped
})
