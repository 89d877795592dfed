/**
 * A real swarm on loopback made of software no one here wrote: a `bittorrent-tracker` server and
 * `webtorrent` seeders. Everything listens on 127.0.0.1 and is closed by `close()`.
 */
import { Server } from 'bittorrent-tracker'
import WebTorrent from 'webtorrent'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import type { Metainfo } from '../../lib/metainfo/types.js'

export interface LocalSwarm {
  readonly meta: Metainfo
  readonly torrent: Uint8Array
  readonly announce: string
  readonly seederPorts: number[]
  /** The tracker itself, so a test can watch announces (its 'start'/'stop' events). */
  readonly tracker: Server
  close (): Promise<void>
}

/** Named buffers webtorrent seeds as files; one buffer seeds a single-file torrent. */
export interface SeedFile { readonly name: string, readonly data: Uint8Array }

export const WEBTORRENT_OPTS = { dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds: false } as const

export async function startLocalSwarm (files: SeedFile[], opts: { seeders: number, pieceLength: number, name?: string }): Promise<LocalSwarm> {
  const tracker = new Server({ udp: false, ws: false, stats: false, http: true })
  await new Promise<void>(resolve => tracker.listen(0, '127.0.0.1', () => resolve()))
  const announce = `http://127.0.0.1:${(tracker.http!.address() as { port: number }).port}/announce`
  const clients: WebTorrent[] = []
  let torrent: Uint8Array | undefined
  try {
    for (let i = 0; i < opts.seeders; i++) {
      const client = new WebTorrent(WEBTORRENT_OPTS)
      client.on('error', () => {})
      clients.push(client)
      const input = files.length === 1 && opts.name === undefined
        ? Object.assign(Buffer.from(files[0]!.data), { name: files[0]!.name })
        : files.map(f => Object.assign(Buffer.from(f.data), { name: f.name }))
      torrent = await new Promise<Uint8Array>(resolve => {
        client.seed(input as Uint8Array, { name: opts.name ?? files[0]!.name, announce: [announce], pieceLength: opts.pieceLength }, t => resolve(t.torrentFile))
      })
    }
  } catch (err) {
    await closeAll(clients, tracker)
    throw err
  }
  return {
    meta: parseTorrent(torrent!),
    torrent: torrent!,
    announce,
    seederPorts: clients.map(c => c.torrentPort),
    tracker,
    close: () => closeAll(clients, tracker)
  }
}

async function closeAll (clients: WebTorrent[], tracker: Server): Promise<void> {
  await Promise.all(clients.map(c => new Promise<void>(resolve => c.destroy(() => resolve()))))
  await new Promise<void>(resolve => tracker.close(() => resolve()))
}
