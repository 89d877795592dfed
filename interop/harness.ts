/**
 * The interop harness: for one real client, every cell of
 *   direction (the client seeds and we download | we seed and the client downloads)
 *   x layout (single-file | multi-file) x our output (stdout | -o DIR, when we download),
 * each on fresh processes and a fresh directory, bounded by a timeout, ended by PID. A cell is ok
 * only when the bytes are identical (SHA-1 of stdout, or every file compared).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTorrent } from '../lib/metainfo/create.js'
import { downloadToDir, downloadToStdout, startSeed, type OurSeed } from './bt-stream-side.js'
import { compareFiles, makeFixtures, PIECE_LENGTH, type Fixture, type Layout } from './fixtures.js'
import { freePort, within } from './proc.js'
import { StaticTracker } from './static-tracker.js'
import type { InteropClient, RunningClient, RunningLeecher } from './clients/types.js'

/** Per cell: 8 MiB moves in a few seconds; this leaves room for a loaded 2-core machine. */
export const CELL_TIMEOUT_MS = 60_000
export const DEFAULT_HOST = '127.0.0.1'

/** 'client-seeds': the client seeds, bt-stream downloads. 'we-seed': `bt-stream seed`, the client downloads. */
export type Direction = 'client-seeds' | 'we-seed'
/** Where our download goes (client-seeds only); a leeching client always writes files. */
export type Output = 'stdout' | 'dir'

export interface Cell {
  readonly layout: Layout
  readonly direction: Direction
  readonly output: Output
}

export type Outcome =
  | { readonly status: 'ok' }
  | { readonly status: 'fail', readonly reason: string, readonly log: string }
  | { readonly status: 'skipped', readonly reason: string }

export interface CellResult extends Cell {
  readonly client: string
  readonly outcome: Outcome
  readonly ms: number
}

/** Every cell, in table order. */
export const CELLS: readonly Cell[] = (['single', 'multi'] as const).flatMap(layout => [
  { layout, direction: 'client-seeds', output: 'stdout' },
  { layout, direction: 'client-seeds', output: 'dir' },
  { layout, direction: 'we-seed', output: 'dir' }
] as const)

export function describeCell (client: string, cell: Cell): string {
  const what = cell.layout === 'single' ? 'a single-file torrent' : 'a multi-file torrent'
  if (cell.direction === 'we-seed') return `bt-stream seeds ${what}, ${client} downloads it`
  return `${client} seeds ${what}, bt-stream downloads it ${cell.output === 'stdout' ? 'to stdout' : 'with -o'}`
}

export class Harness {
  private readonly tracker = new StaticTracker()
  private readonly announcedTorrents = new Map<Layout, string>()
  private cellCount = 0

  private constructor (readonly root: string, readonly fixtures: Record<Layout, Fixture>) {}

  /** Fixtures in a fresh temporary directory, and the tracker for clients that must be dialed. */
  static async create (): Promise<Harness> {
    const root = await mkdtemp(join(tmpdir(), 'bt-stream-interop-'))
    const h = new Harness(root, await makeFixtures(root))
    await h.tracker.listen()
    return h
  }

  async close (): Promise<void> {
    await this.tracker.close()
    await rm(this.root, { recursive: true, force: true })
  }

  /** Every cell for `client` (all skipped, with the reason, when it cannot run here). */
  async runClient (client: InteropClient, onResult?: (r: CellResult) => void): Promise<CellResult[]> {
    const results: CellResult[] = []
    for (const cell of CELLS) {
      const r = await this.runCell(client, cell)
      onResult?.(r)
      results.push(r)
    }
    return results
  }

  async runCell (client: InteropClient, cell: Cell, timeoutMs = CELL_TIMEOUT_MS): Promise<CellResult> {
    const started = Date.now()
    const why = await client.unavailable()
    let outcome: Outcome
    if (why !== undefined) {
      outcome = { status: 'skipped', reason: why }
    } else {
      const dir = join(this.root, `cell-${++this.cellCount}-${client.name}-${cell.layout}-${cell.direction}-${cell.output}`)
      await mkdir(dir)
      try {
        outcome = cell.direction === 'client-seeds'
          ? await this.clientSeeds(client, cell, dir, timeoutMs)
          : await this.weSeed(client, cell, dir, timeoutMs)
      } catch (err) {
        outcome = { status: 'fail', reason: firstLine((err as Error).message), log: (err as Error).message }
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    }
    return { client: client.name, ...cell, outcome, ms: Date.now() - started }
  }

  /** The client seeds the fixture; we download it from the client alone. */
  private async clientSeeds (client: InteropClient, cell: Cell, dir: string, timeoutMs: number): Promise<Outcome> {
    const fixture = this.fixtures[cell.layout]
    const host = client.host ?? DEFAULT_HOST
    const seeder = await startedWithin(timeoutMs, `${client.name} seed`, client.seed({
      torrentPath: fixture.torrentPath, name: fixture.name, multiFile: fixture.multiFile,
      dataDir: fixture.dataDir, host, port: await freePort(host)
    }))
    try {
      const peer = { host: seeder.host, port: seeder.port }
      const out = cell.output === 'stdout'
        ? await downloadToStdout(fixture, peer, timeoutMs)
        : await downloadToDir(fixture, peer, dir, timeoutMs)
      if (out.error === undefined) return { status: 'ok' }
      return { status: 'fail', reason: out.error, log: logs(['bt-stream stderr', out.log], [`${client.name} log`, seeder.log()]) }
    } finally {
      await seeder.stop()
    }
  }

  /**
   * `bt-stream seed` serves the fixture; the client downloads it from us alone. A client that
   * dials us starts after our seed listens; one we must dial starts first (our seed dials it when
   * its tracker answers; a refused dial is retried on the pool's backoff, 2, 8 and 32 s later, so
   * starting the client first still saves those seconds).
   */
  private async weSeed (client: InteropClient, cell: Cell, dir: string, timeoutMs: number): Promise<Outcome> {
    const fixture = this.fixtures[cell.layout]
    const host = client.host ?? DEFAULT_HOST
    const clientPort = await freePort(host)
    const seedPort = await freePort(DEFAULT_HOST)
    const dialed = client.mustBeDialed === true
    let announced: string | undefined
    if (dialed) {
      // Our seed dials the peers its tracker lists: here, the client alone.
      this.tracker.setPeers(fixture.meta.infoHashHex, [{ host, port: clientPort }])
      announced = await this.announcedTorrent(fixture)
    }
    const startLeecher = (): Promise<RunningLeecher> => startedWithin(timeoutMs, `${client.name} leech`, client.leech({
      torrentPath: fixture.torrentPath, name: fixture.name, multiFile: fixture.multiFile,
      saveDir: dir, host, port: clientPort, peers: [{ host: DEFAULT_HOST, port: seedPort }]
    }, timeoutMs))
    let leecher: RunningLeecher | undefined
    let seed: OurSeed | undefined
    try {
      if (dialed) leecher = await startLeecher()
      seed = await startSeed(fixture, seedPort, announced)
      leecher ??= await startLeecher()
      const failure = (reason: string): Outcome => ({
        status: 'fail',
        reason,
        log: logs([`${client.name} log`, leecher?.log() ?? ''], ['bt-stream seed stderr', seed?.child.log.toString() ?? ''])
      })
      try {
        await within(timeoutMs, `${client.name} download`, leecher.done)
      } catch (err) {
        return failure(firstLine((err as Error).message))
      }
      // Compare once the client has closed its files.
      await leecher.stop()
      const diff = await compareFiles(fixture, dir)
      return diff === undefined ? { status: 'ok' } : failure(diff)
    } finally {
      await leecher?.stop()
      await seed?.stop()
    }
  }

  /** The fixture's torrent with our tracker as announce: the same info dict, so the same info hash. */
  private async announcedTorrent (fixture: Fixture): Promise<string> {
    const known = this.announcedTorrents.get(fixture.layout)
    if (known !== undefined) return known
    const created = await createTorrent(join(fixture.dataDir, fixture.name), { pieceLength: PIECE_LENGTH, creationDate: null, createdBy: 'bt-stream interop', trackers: [this.tracker.url] })
    if (created.meta.infoHashHex !== fixture.meta.infoHashHex) throw new Error('the announced copy of the torrent has another info hash')
    const path = join(this.root, `${fixture.name}.announced.torrent`)
    await writeFile(path, created.torrent)
    this.announcedTorrents.set(fixture.layout, path)
    return path
  }
}

/** `within`, and a client that starts after we gave up on it is stopped, not left running. */
async function startedWithin<T extends RunningClient> (ms: number, what: string, starting: Promise<T>): Promise<T> {
  try {
    return await within(ms, what, starting)
  } catch (err) {
    starting.then(c => c.stop(), () => {})
    throw err
  }
}

function logs (...parts: Array<[string, string]>): string {
  return parts.map(([title, text]) => `--- ${title} ---\n${text.trim()}`).join('\n')
}

function firstLine (s: string): string {
  return s.split('\n')[0] ?? s
}
