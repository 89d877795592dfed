/**
 * webtorrent (npm, a dev dependency) in this process: a WebTorrent client per role, with no DHT,
 * LSD, trackers, PEX, uTP, NAT traversal or web seeds, and `secure: 0` (plaintext: we do not
 * speak MSE). webtorrent has no bind-address option: its listener is on every interface for the
 * cell's few seconds; it dials only the loopback peers the harness gives it.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type WebTorrent from 'webtorrent'
import type { Torrent } from 'webtorrent'
import { within } from '../proc.js'
import type { InteropClient, LeechOptions, RunningClient, RunningLeecher, SeedOptions } from './types.js'

/** Checking 8 MiB already on disk and listening. */
const READY_MS = 30_000
const LOG_LINES = 200

const OPTIONS = { dht: false, lsd: false, utp: false, utPex: false, natUpnp: false, natPmp: false, webSeeds: false, tracker: false, secure: 0 } as const

/** A bounded list of what the client and its torrent said (a failed cell prints it). */
function logOf (client: WebTorrent, torrent: Torrent): () => string {
  const lines: string[] = []
  const add = (s: string): void => {
    lines.push(`${new Date().toISOString()} ${s}`)
    if (lines.length > LOG_LINES) lines.shift()
  }
  client.on('error', (err: Error) => add(`client error: ${err.message}`))
  torrent.on('error', (err: Error) => add(`torrent error: ${err.message}`))
  torrent.on('warning', (err: Error) => add(`warning: ${err.message}`))
  torrent.on('wire', (wire: { remoteAddress?: string, remotePort?: number, on: (e: string, f: (...a: unknown[]) => void) => void }) => {
    const who = `${wire.remoteAddress ?? '?'}:${wire.remotePort ?? '?'}`
    add(`wire ${who} connected`)
    wire.on('close', () => add(`wire ${who} closed`))
  })
  torrent.on('noPeers', () => add('no peers'))
  return () => lines.join('\n') + `\n(${torrent.downloaded} bytes downloaded, ${torrent.numPeers} peers)`
}

function destroy (client: WebTorrent): Promise<void> {
  return new Promise<void>(resolve => client.destroy(() => resolve()))
}

function ready (torrent: Torrent): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    torrent.once('ready', () => resolve())
    torrent.once('error', reject)
  })
}

function done (torrent: Torrent): Promise<void> {
  if (torrent.done) return Promise.resolve()
  return new Promise<void>((resolve, reject) => {
    torrent.once('done', () => resolve())
    torrent.once('error', reject)
  })
}

function listening (client: WebTorrent): Promise<void> {
  if (client.listening) return Promise.resolve()
  return new Promise<void>(resolve => client.once('listening', () => resolve()))
}

/** Loaded on first use: without node_modules/webtorrent the other drivers still run. */
let loaded: Promise<{ ctor?: typeof WebTorrent, why?: string }> | undefined
function load (): Promise<{ ctor?: typeof WebTorrent, why?: string }> {
  loaded ??= import('webtorrent').then(
    m => ({ ctor: m.default }),
    () => ({ why: 'webtorrent not installed: npm install (it is a dev dependency)' })
  )
  return loaded
}

async function newClient (port: number): Promise<WebTorrent> {
  const { ctor, why } = await load()
  if (ctor === undefined) throw new Error(why)
  return new ctor({ ...OPTIONS, torrentPort: port })
}

function versionOf (): string {
  try {
    const req = createRequire(import.meta.url)
    return `webtorrent ${(req('webtorrent/package.json') as { version: string }).version}`
  } catch {
    return 'webtorrent (unknown version)'
  }
}

export const webtorrent: InteropClient = {
  name: 'webtorrent',
  async version () { return versionOf() },
  async unavailable () { return (await load()).why },

  async seed (opts: SeedOptions): Promise<RunningClient> {
    const client = await newClient(opts.port)
    const torrent = client.add(await readFile(opts.torrentPath), { path: opts.dataDir })
    const log = logOf(client, torrent)
    try {
      // Added over complete files, it verifies them and is done: then it seeds.
      await within(READY_MS, 'webtorrent seed', ready(torrent).then(() => done(torrent)).then(() => listening(client)))
    } catch (err) {
      const text = log()
      await destroy(client)
      throw new Error(`${(err as Error).message}\n${text}`)
    }
    let stopped: Promise<void> | undefined
    return { host: opts.host, port: client.torrentPort, log, stop: () => (stopped ??= destroy(client)) }
  },

  async leech (opts: LeechOptions, timeoutMs: number): Promise<RunningLeecher> {
    const client = await newClient(opts.port)
    const torrent = client.add(await readFile(opts.torrentPath), { path: opts.saveDir })
    const log = logOf(client, torrent)
    const finished = within(timeoutMs, 'webtorrent leech', ready(torrent).then(() => {
      for (const p of opts.peers) torrent.addPeer(`${p.host}:${p.port}`)
      return done(torrent)
    }))
    finished.catch(() => {})
    await within(READY_MS, 'webtorrent listening', listening(client))
    let stopped: Promise<void> | undefined
    return { host: opts.host, port: client.torrentPort, done: finished, log, stop: () => (stopped ??= destroy(client)) }
  }
}
