/**
 * A strict TypeScript user of the other sessions and parts: downloadToDisk's events, the seed
 * session, the Swarm's events, a PeerConnection. Every value named here is precisely typed.
 */
import {
  downloadToDisk, fetchMagnetMetadata, parseMagnet, seedFromDisk, wire, Swarm,
  type DiskDownload, type DiskProgress, type Magnet, type MagnetMetadata, type Metainfo,
  type PeerAddress, type SeedSession
} from 'bt-stream'

export async function toDisk (meta: Metainfo): Promise<void> {
  const dl: DiskDownload = await downloadToDisk(meta, 'downloads', { files: [0], listen: false })
  dl.on('progress', (p: DiskProgress) => { const left: number = p.total - p.verified; void left })
  dl.on('read-error', err => { const m: string = err.message; void m })
  dl.on('tracker-error', f => { void f })
  // @ts-expect-error DiskDownload has no such event (a Node EventEmitter with a typed event map)
  dl.on('no-such-event', () => {})
  // @ts-expect-error progress carries a DiskProgress
  dl.on('progress', (p: string) => { void p })
  const done: Promise<void> = dl.done
  await done
  const port: number | undefined = dl.port
  void port
  await dl.stop()
}

export async function magnetThenSeed (uri: string): Promise<void> {
  const magnet: Magnet = parseMagnet(uri)
  const got: MagnetMetadata = await fetchMagnetMetadata(magnet, { timeoutMs: 1000 })
  const session: SeedSession = await seedFromDisk(got.meta, 'downloads', { port: 0, trackers: false })
  const port: number = session.port
  // @ts-expect-error the port is a number
  const asText: string = session.port
  void port; void asText
  session.seeder.on('peer', conn => { const pid: Uint8Array = conn.peerId; void pid })
  await session.close()
}

export function swarmEvents (swarm: Swarm): void {
  swarm.on('piece', index => { const i: number = index; void i })
  swarm.on('peer-banned', (addr: PeerAddress, reason: string) => { void addr; void reason })
  swarm.on('error', err => { const e: Error = err; void e })
  // @ts-expect-error a piece event carries its index
  swarm.on('piece', (index: string) => { void index })
  const peers: number = swarm.stats.peers
  void peers
}

export async function peer (infoHash: Uint8Array): Promise<void> {
  const conn: wire.PeerConnection = await wire.connect({ host: '127.0.0.1', port: 6881, infoHash })
  conn.on('handshake', h => { void h })
  conn.interested()
  conn.request(0, 0, 16384)
  // @ts-expect-error request takes numbers
  conn.request('0', 0, 16384)
  const choked: boolean = conn.peerChoking
  void choked
  conn.destroy()
}
