/**
 * `serve` under test: seeders on loopback (seedFromDisk, optionally rate-limited, or the fake
 * seeder), a stream engine fed only by them, and the HTTP server in front; plus a node:http client
 * that returns status, headers and body.
 */
import { request, type IncomingHttpHeaders } from 'node:http'
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { seedFromDisk } from '../../lib/session/seed.js'
import { openStream, type StreamEngine, type StreamEngineOptions } from '../../lib/session/stream-engine.js'
import { startTorrentServer, type HttpServeOptions, type TorrentServer } from '../../lib/serve/http-server.js'
import type { PeerAddress } from '../../lib/tracker/compact.js'
import type { MadeTorrent } from '../swarm/fixture-torrent.js'

interface After { after: (fn: () => unknown) => void }

export async function tempDir (t: After, prefix = 'bt-serve-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** The torrent's files written under a fresh directory, seeded from there. */
export async function seedMade (t: After, made: MadeTorrent, opts: { maxUploadRate?: number } = {}): Promise<PeerAddress> {
  const dir = await tempDir(t, 'bt-serve-seed-')
  const meta = made.meta
  if (!meta.multiFile) {
    await writeFile(join(dir, meta.name), made.data)
  } else {
    for (const f of meta.files) {
      const path = join(dir, f.path)
      await mkdir(dirname(path), { recursive: true })
      await writeFile(path, made.data.subarray(f.offset, f.offset + f.length))
    }
  }
  const session = await seedFromDisk(meta, dir, { host: '127.0.0.1', trackers: false, dht: false, ...opts })
  t.after(() => session.close())
  return { host: '127.0.0.1', port: session.port }
}

export interface Served {
  readonly engine: StreamEngine
  readonly server: TorrentServer
  readonly url: string
}

export async function serveFrom (t: After, meta: Metainfo, peers: PeerAddress[], opts: { engine?: StreamEngineOptions, http?: HttpServeOptions } = {}): Promise<Served> {
  const dir = opts.engine?.dir ?? await tempDir(t, 'bt-serve-cache-')
  const engine = await openStream(meta, { peers, trackers: false, dht: false, listenHost: '127.0.0.1', dir, ...opts.engine })
  t.after(() => engine.close())
  const server = await startTorrentServer(engine, opts.http)
  t.after(() => server.close())
  return { engine, server, url: server.url }
}

export interface Reply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

export async function get (url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return await new Promise<Reply>((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, res => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** Polls `cond` until true or `ms` passed (then throws `what`). */
export async function until (ms: number, what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
