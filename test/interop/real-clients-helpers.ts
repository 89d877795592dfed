/**
 * A test-local setup for the real-client interop tests (Transmission, rtorrent, ctorrent): the
 * payloads and their torrents, and the two directions through a driver of interop/clients/:
 *   the client seeds, `bt-stream x.torrent --peer H:P` downloads (stdout, or -o DIR);
 *   `bt-stream seed` seeds, the client downloads.
 * Every process is the real CLI or the real client, on loopback, bounded by CASE_TIMEOUT_MS,
 * ended by its PID in t.after, its state dirs removed. (The interop harness, interop/harness.ts,
 * runs the same cells for `npm run interop`; these tests stand on their own.)
 */
import { createCipheriv, createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'
import { createTorrent } from '../../lib/metainfo/create.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import type { InteropClient, RunningClient, RunningLeecher } from '../../interop/clients/types.js'
import { freePort, start, waitLine, within, type Child } from '../../interop/proc.js'
import { WireLogProxy } from './real-clients-wire-log.js'
import { compareFiles } from '../../interop/fixtures.js'

/** 8 MiB moves in seconds on loopback; this leaves room for a loaded 2-core machine. */
export const CASE_TIMEOUT_MS = 60_000
/** node:test's own bound on a case: the case's timeout plus start and stop of every process. */
export const TEST_TIMEOUT_MS = CASE_TIMEOUT_MS + 30_000
/** 256 KiB pieces: common in the wild; 8 MiB is 33 pieces, the last one short. */
export const PIECE_LENGTH = 256 * 1024
const SINGLE_SIZE = 8 * 1024 * 1024 + 12345
/** Three files, one in a subdirectory, boundaries inside pieces; sorted as our creator lists them. */
const MULTI_FILES = [
  { path: 'a.bin', size: 3 * 1024 * 1024 + 1001 },
  { path: 'c.txt', size: 1024 * 1024 + 5 },
  { path: 'sub/b.bin', size: 2 * 1024 * 1024 + 77_777 }
]
/** Where our loopback side listens: the clients that take 127.0.0.1 peers for themselves are elsewhere. */
const OUR_HOST = '127.0.0.1'
/** `bt-stream seed` checks 8 MiB and listens well within this. */
const SEED_READY_MS = 30_000

const BT_STREAM = fileURLToPath(new URL('../../../bin/bt-stream.js', import.meta.url))

/** 'large': one 128 MiB file, 8192 blocks of 16 KiB: what rtorrent requests all at once (issue 10, item 8). */
export type Layout = 'single' | 'multi' | 'large'
const LARGE_SIZE = 128 * 1024 * 1024

export interface Fixture {
  readonly name: string
  readonly multiFile: boolean
  readonly torrentPath: string
  readonly meta: Metainfo
  /** The directory holding `name`. */
  readonly dataDir: string
  /** Paths below `name` ('' for the single file), in torrent order, with size and SHA-1. */
  readonly files: ReadonlyArray<{ path: string, size: number, sha1: string }>
  /** Where the fixture lives; a case's own dirs go below it. */
  readonly root: string
}

const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex')

/** Deterministic bytes: AES-128-CTR of zeros under a key made from `seed`. */
function payload (size: number, seed: number): Buffer {
  const key = createHash('sha256').update(`interop-${seed}`).digest().subarray(0, 16)
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size))
}

/** A fixture in a fresh temp dir (removed in t.after): the payload and its tracker-less torrent. */
export async function makeFixture (t: TestContext, layout: Layout): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'bt-stream-interop-b-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  const dataDir = join(root, 'data')
  const name = layout === 'multi' ? 'interop-multi' : `interop-${layout}.bin`
  const files: Array<{ path: string, size: number, sha1: string }> = []
  if (layout !== 'multi') {
    const bytes = payload(layout === 'single' ? SINGLE_SIZE : LARGE_SIZE, 1)
    await mkdir(dataDir, { recursive: true })
    await writeFile(join(dataDir, name), bytes)
    files.push({ path: '', size: bytes.length, sha1: sha1(bytes) })
  } else {
    for (const [i, f] of MULTI_FILES.entries()) {
      const bytes = payload(f.size, i + 2)
      const abs = join(dataDir, name, f.path)
      await mkdir(dirname(abs), { recursive: true })
      await writeFile(abs, bytes)
      files.push({ path: f.path, size: f.size, sha1: sha1(bytes) })
    }
  }
  const created = await createTorrent(join(dataDir, name), { pieceLength: PIECE_LENGTH, creationDate: null, createdBy: 'bt-stream interop' })
  const torrentPath = join(root, `${name}.torrent`)
  await writeFile(torrentPath, created.torrent)
  const order = created.meta.files.map(f => f.path)
  const expected = files.map(f => f.path === '' ? name : `${name}/${f.path}`)
  if (order.join('\n') !== expected.join('\n')) throw new Error(`torrent file order ${order.join(', ')} is not ${expected.join(', ')}`)
  return { name, multiFile: created.meta.multiFile, torrentPath, meta: created.meta, dataDir, files, root }
}


/** Bytes actually written under `dir` (allocated blocks: clients make sparse files of the full size first). */
async function bytesOnDisk (dir: string): Promise<number> {
  let total = 0
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await stat(join(e.parentPath ?? e.path, e.name))).blocks * 512
  }
  return total
}

/**
 * The address our side should use to reach `target`: `target` itself, or with INTEROP_WIRE_LOG=1
 * a logging proxy in front of it (closed in t.after) whose trace failure reports include.
 */
async function via (t: TestContext, target: { host: string, port: number }): Promise<{ host: string, port: number, trace: () => string }> {
  if (process.env.INTEROP_WIRE_LOG !== '1') return { ...target, trace: () => '(INTEROP_WIRE_LOG=1 records what each side sent)' }
  const proxy = await WireLogProxy.start(target, OUR_HOST)
  t.after(() => proxy.close())
  return { host: proxy.host, port: proxy.port, trace: () => proxy.log() }
}

/** A child ended (by PID) in t.after, whatever happens to the test. */
function owned (t: TestContext, child: Child): Child {
  t.after(() => child.stop())
  return child
}

function ownedClient<T extends RunningClient> (t: TestContext, c: T): T {
  t.after(() => c.stop())
  return c
}

function report (what: string, ...logs: Array<[string, string]>): Error {
  return new Error(`${what}\n${logs.map(([title, text]) => `--- ${title} ---\n${text.trim()}`).join('\n')}`)
}

/** Our download's common options: only the peer under test; our stall limit fires before the case's. */
function downloadArgs (fixture: Fixture, peer: { host: string, port: number }): string[] {
  return [BT_STREAM, fixture.torrentPath, '--peer', `${peer.host}:${peer.port}`, '--no-trackers', '--no-dht', '--quiet',
    '--stall-timeout', String(CASE_TIMEOUT_MS / 2000)]
}

/**
 * The client seeds the fixture; `bt-stream` downloads it from the client alone, to stdout (a
 * multi-file torrent: each file in turn with --file N, SHA-1 of each stream) or with -o DIR
 * (every file compared). Throws with both sides' logs when the bytes are not the fixture's.
 */
export async function clientSeedsWeDownload (t: TestContext, client: InteropClient & { host?: string }, fixture: Fixture, output: 'stdout' | 'dir'): Promise<void> {
  const host = client.host ?? OUR_HOST
  const seeder = ownedClient(t, await within(CASE_TIMEOUT_MS, `${client.name} seed`, client.seed({
    torrentPath: fixture.torrentPath, name: fixture.name, multiFile: fixture.multiFile,
    dataDir: fixture.dataDir, host, port: await freePort(host)
  })))
  const peer = await via(t, { host: seeder.host, port: seeder.port })
  if (output === 'stdout') {
    // One file after the other: Transmission keeps one connection per peer IP and closes a
    // second one from 127.0.0.1 during the handshake. (Each waits for Transmission's next
    // rechoke, up to 10 s, before the first block.)
    for (const [i, f] of fixture.files.entries()) await streamOne(t, client.name, seeder, fixture, peer, i, f)
    return
  }
  const dir = await mkdtemp(join(fixture.root, 'out-'))
  // -o names the file for a single-file torrent, the directory above the tree otherwise.
  const out = fixture.multiFile ? dir : join(dir, fixture.name)
  const child = owned(t, start(process.execPath, [...downloadArgs(fixture, peer), '-o', out, '--host', OUR_HOST]))
  let exit: { code: number | null, signal: NodeJS.Signals | null }
  try {
    exit = await within(CASE_TIMEOUT_MS, 'bt-stream -o', child.exited)
  } catch (err) {
    throw report((err as Error).message, ['bt-stream stderr', child.log.toString()], [`${client.name} log`, seeder.log()], ['wire', peer.trace()])
  }
  const diff = exit.code !== 0 ? `bt-stream -o exited ${exit.signal ?? `with code ${exit.code}`}` : await compareFiles(fixture, dir)
  if (diff !== undefined) throw report(diff, ['bt-stream stderr', child.log.toString()], [`${client.name} log`, seeder.log()], ['wire', peer.trace()])
}

/** One `bt-stream` download to stdout (file `i` with --file for a multi-file torrent); its SHA-1 must be the file's. */
async function streamOne (t: TestContext, clientName: string, seeder: RunningClient, fixture: Fixture, peer: { host: string, port: number, trace: () => string }, i: number, f: Fixture['files'][number]): Promise<void> {
  const args = [...downloadArgs(fixture, peer), ...(fixture.multiFile ? ['--file', String(i)] : [])]
  const what = fixture.multiFile ? `${fixture.name}/${f.path} (--file ${i}) to stdout` : `${fixture.name} to stdout`
  const child = owned(t, start(process.execPath, args, { stdoutIsData: true }))
  const hash = createHash('sha1')
  let bytes = 0
  child.proc.stdout?.on('data', (chunk: Buffer) => { hash.update(chunk); bytes += chunk.length })
  let exit: { code: number | null, signal: NodeJS.Signals | null }
  try {
    exit = await within(CASE_TIMEOUT_MS, `bt-stream ${what}`, child.exited)
  } catch (err) {
    throw report(`${(err as Error).message} (${bytes} bytes so far)`, ['bt-stream stderr', child.log.toString()], [`${clientName} log`, seeder.log()], ['wire', peer.trace()])
  }
  const got = hash.digest('hex')
  if (exit.code !== 0 || bytes !== f.size || got !== f.sha1) {
    throw report(`bt-stream ${what}: exit ${exit.signal ?? exit.code}, ${bytes} bytes with SHA-1 ${got}, expected ${f.size} bytes with ${f.sha1}`,
      ['bt-stream stderr', child.log.toString()], [`${clientName} log`, seeder.log()], ['wire', peer.trace()])
  }
}

/**
 * `bt-stream seed` serves the fixture; the client downloads it from us alone. A client that
 * dials (rtorrent, ctorrent) is given our address and starts after our seed listens. One that
 * never dials loopback (Transmission, `mustBeDialed`) starts first, and our seed dials it
 * (`seed --peer`). The files are compared after the client stopped.
 */
export async function weSeedClientDownloads (t: TestContext, client: InteropClient & { host?: string, mustBeDialed?: boolean }, fixture: Fixture): Promise<void> {
  const host = client.host ?? OUR_HOST
  const clientPort = await freePort(host)
  const seedPort = await freePort(OUR_HOST)
  const saveDir = await mkdtemp(join(fixture.root, 'save-'))
  const dialed = client.mustBeDialed === true
  // Who dials whom, through the wire log when asked for: the client dials our seed, or ours dials it.
  const link = dialed ? await via(t, { host, port: clientPort }) : await via(t, { host: OUR_HOST, port: seedPort })
  const startLeecher = async (): Promise<RunningLeecher> =>
    ownedClient(t, await within(CASE_TIMEOUT_MS, `${client.name} leech`, client.leech({
      torrentPath: fixture.torrentPath, name: fixture.name, multiFile: fixture.multiFile,
      saveDir, host, port: clientPort, peers: [dialed ? { host: OUR_HOST, port: seedPort } : { host: link.host, port: link.port }]
    }, CASE_TIMEOUT_MS)))
  let leecher = dialed ? await startLeecher() : undefined
  // seed takes the file itself for a single-file torrent, the directory above the tree otherwise.
  const data = fixture.multiFile ? fixture.dataDir : join(fixture.dataDir, fixture.name)
  // --progress: a line a second of what we uploaded, for a failure message.
  const seedArgs = [BT_STREAM, 'seed', fixture.torrentPath, data, '--port', String(seedPort), '--host', OUR_HOST, '--no-dht', '--no-trackers', '--progress',
    ...(dialed ? ['--peer', `${link.host}:${link.port}`] : [])]
  const seed = owned(t, start(process.execPath, seedArgs, { lines: 'stderr' }))
  try {
    await waitLine(seed, SEED_READY_MS, 'bt-stream seed', line => line.includes('seeding') ? true : undefined)
  } catch (err) {
    throw report((err as Error).message, ['bt-stream seed stderr', seed.log.toString()])
  }
  leecher ??= await startLeecher()
  try {
    await within(CASE_TIMEOUT_MS, `${client.name} download`, leecher.done)
  } catch (err) {
    const wrote = await bytesOnDisk(saveDir)
    throw report(`${(err as Error).message.split('\n')[0] ?? ''} (${client.name} wrote ${wrote} of ${fixture.meta.length} bytes)`,
      [`${client.name} log`, leecher.log()], ['bt-stream seed stderr', seed.log.toString()], ['wire', link.trace()])
  }
  const clientLog = leecher.log()
  await leecher.stop()
  const diff = await compareFiles(fixture, saveDir)
  if (diff !== undefined) throw report(diff, [`${client.name} log`, clientLog], ['bt-stream seed stderr', seed.log.toString()], ['wire', link.trace()])
}

/** The six cases for one client, as node:test tests; skipped with the reason when it cannot run here. */
export function interopCases (declare: typeof import('node:test').test, client: InteropClient, todo: Partial<Record<CaseName, string>> = {}): void {
  for (const layout of ['single', 'multi'] as const) {
    const what = layout === 'single' ? 'a single-file torrent (8 MiB)' : 'a multi-file torrent (3 files)'
    const cases: Array<[CaseName, string, (t: TestContext, f: Fixture) => Promise<void>]> = [
      [`${layout}/client-seeds/stdout`, `${client.name} seeds ${what}; bt-stream downloads it to stdout, byte-identical (BEP 3)`, (t, f) => clientSeedsWeDownload(t, client, f, 'stdout')],
      [`${layout}/client-seeds/dir`, `${client.name} seeds ${what}; bt-stream downloads it with -o, byte-identical (BEP 3)`, (t, f) => clientSeedsWeDownload(t, client, f, 'dir')],
      [`${layout}/we-seed`, `bt-stream seed serves ${what}; ${client.name} downloads it byte-identical (BEP 3)`, (t, f) => weSeedClientDownloads(t, client, f)]
    ]
    for (const [name, title, run] of cases) {
      const reason = todo[name]
      declare(title, { timeout: TEST_TIMEOUT_MS, ...(reason !== undefined ? { todo: reason } : {}) }, async t => {
        const why = await client.unavailable()
        if (why !== undefined) { t.skip(why); return }
        await run(t, await makeFixture(t, layout))
      })
    }
  }
}

export type CaseName = `${Layout}/client-seeds/stdout` | `${Layout}/client-seeds/dir` | `${Layout}/we-seed`
