import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:net'
import bencode from 'bencode'
import DHT from 'bittorrent-dht'
import { DhtNode } from '../lib/dht/dht-node.js'
import { EXTENSION_IDS, ourExtensions } from '../lib/extensions/extension-ids.js'
import { routeExtended } from '../lib/extensions/extension-router.js'
import { MetadataFetcher } from '../lib/extensions/metadata-fetcher.js'
import { MetadataResponder } from '../lib/extensions/metadata-responder.js'
import { acceptPeer, connect, type PeerConnection } from '../lib/wire/index.js'
import type { Message } from '../lib/wire/messages.js'

/**
 * BEP 9: our MetadataFetcher pulling an info dict from N of our responders over loopback TCP
 * (connect and handshakes included), and BEP 5: a lookup on a private loopback DHT. Both ends
 * in this one process.
 */
function infoDict (bytes: number): { info: Uint8Array, infoHash: Uint8Array } {
  const pieces = new Uint8Array(Math.floor(bytes / 20) * 20)
  for (let i = 0; i < pieces.length; i++) pieces[i] = (i * 2654435761) >>> 24
  const info = bencode.encode({ name: 'bench', 'piece length': 16384, length: (pieces.length / 20) * 16384, pieces })
  return { info, infoHash: new Uint8Array(createHash('sha1').update(info).digest()) }
}

async function seeder (info: Uint8Array, infoHash: Uint8Array): Promise<{ port: number, close: () => Promise<void> }> {
  const responder = new MetadataResponder({ infoBytes: info, servedFactor: 1000 })
  const conns: PeerConnection[] = []
  const server: Server = createServer((socket) => {
    socket.on('error', () => {})
    acceptPeer(socket, { accept: (ih) => Buffer.from(ih).equals(infoHash), extensions: ourExtensions({ metadataSize: info.length }) }).then((conn) => {
      conns.push(conn)
      conn.on('error', () => {})
      conn.on('data', (m: unknown) => { const msg = m as Message; if (msg.type === 'extended') routeExtended(conn, msg.id, msg.payload, { responder }) })
    }, () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no address')
  return { port: addr.port, close: async () => { for (const c of conns) c.destroy(); await new Promise<void>((resolve) => server.close(() => resolve())) } }
}

export async function benchMetadataFetch (size: number, peers: number): Promise<{ ms: number, bytes: number }> {
  const { info, infoHash } = infoDict(size)
  const seeders = await Promise.all(Array.from({ length: peers }, () => seeder(info, infoHash)))
  const conns: PeerConnection[] = []
  try {
    const t0 = performance.now()
    const fetcher = new MetadataFetcher<PeerConnection>({ infoHash, timeout: 30_000 })
    await Promise.all(seeders.map(async (s) => {
      const conn = await connect({ host: '127.0.0.1', port: s.port, infoHash, extensions: ourExtensions() })
      conn.on('error', () => {})
      ;(conn.socket as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true)
      conns.push(conn)
      conn.on('data', (m: unknown) => { const msg = m as Message; if (msg.type === 'extended') routeExtended(conn, msg.id, msg.payload, { fetcher }) })
    }))
    const bytes = await fetcher.metadata
    if (!Buffer.from(bytes).equals(info)) throw new Error('wrong metadata')
    return { ms: performance.now() - t0, bytes: bytes.length }
  } finally {
    for (const c of conns) c.destroy()
    await Promise.all(seeders.map(s => s.close()))
  }
}

export async function benchDhtLookup (nodes: number): Promise<{ ms: number, found: number }> {
  const raw: DHT[] = []
  const start = async (bootstrap: string[]): Promise<DHT> => {
    const d = new DHT({ bootstrap: bootstrap.length === 0 ? false : bootstrap })
    d.on('error', () => {})
    d.on('warning', () => {})
    const ready = new Promise<void>((resolve) => { d.once('ready', resolve) })
    d.listen(0, '127.0.0.1')
    await ready
    raw.push(d)
    return d
  }
  let ours: DhtNode | undefined
  try {
    const first = await start([])
    const boot = [`127.0.0.1:${first.address().port}`]
    for (let i = 1; i < nodes; i++) await start(boot)
    const infoHash = createHash('sha1').update('bench').digest()
    await new Promise<void>((resolve, reject) => { raw[nodes - 1]?.announce(infoHash, 40000, (err) => { if (err === null) resolve(); else reject(err) }) })
    ours = await DhtNode.start({ bootstrap: boot, bindAddress: '127.0.0.1' })
    const t0 = performance.now()
    const found = await ours.findPeers({ infoHash }, () => {})
    return { ms: performance.now() - t0, found }
  } finally {
    await ours?.destroy()
    await Promise.all(raw.map(d => new Promise<void>((resolve) => { d.destroy(() => resolve()) })))
  }
}

export async function printMetadataFetch (out: NodeJS.WritableStream): Promise<void> {
  out.write(`BEP 9: MetadataFetcher ← MetadataResponder over 127.0.0.1 (ut_metadata id ${EXTENSION_IDS.ut_metadata}), connect included, one process\n`)
  for (const [size, peers] of [[40_000, 1], [1 << 20, 1], [1 << 20, 4], [4 << 20, 1], [4 << 20, 4]] as const) {
    const r = await benchMetadataFetch(size, peers)
    out.write(`  ${(r.bytes / 1024).toFixed(0).padStart(5)} KiB from ${peers} peer${peers === 1 ? ' ' : 's'}: ${r.ms.toFixed(1)} ms\n`)
  }
  for (const n of [5, 30]) {
    const r = await benchDhtLookup(n)
    out.write(`BEP 5: DhtNode.findPeers on a private loopback DHT of ${n} bittorrent-dht nodes: ${r.ms.toFixed(1)} ms, ${r.found} peer\n`)
  }
}
