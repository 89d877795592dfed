import { randomBytes } from 'node:crypto'
import createTorrent from 'create-torrent'
import WebTorrent, { type Torrent } from 'webtorrent'
import { parseTorrent } from '../lib/metainfo/parse.js'
import type { Metainfo } from '../lib/metainfo/types.js'
import { PeerListener } from '../lib/seed/listener.js'
import { Seeder } from '../lib/seed/seeder.js'
import type { PieceReader } from '../lib/seed/uploader.js'
import { BitField } from '../lib/wire/bitfield.js'
import { connect } from '../lib/wire/connect.js'
import type { Message } from '../lib/wire/messages.js'

/**
 * Upload throughput of the Seeder serving a 64 MiB torrent from memory over loopback, to
 *  - a webtorrent@3 leecher (whole client: it hashes every piece, stores in memory), and
 *  - a bare PeerConnection leecher keeping 250 requests in flight (no hashing): our ceiling.
 * Seeder and leecher share this one process (one core), so both are floors, not ceilings.
 */
const SIZE = 64 * 1024 * 1024
const PIECE_LENGTH = 256 * 1024
const BLOCK = 16384

class MemoryPieces implements PieceReader {
  constructor (private readonly data: Uint8Array, private readonly pieceLength: number) {}
  async read (index: number, begin: number, length: number): Promise<Uint8Array> {
    const start = index * this.pieceLength + begin
    return this.data.subarray(start, start + length)
  }
}

/**
 * webtorrent's chunk store (abstract-chunk-store: constructed with (chunkLength, opts), then put /
 * get / close / destroy), in memory: the leecher measures the network path, not its disk.
 */
class MemoryChunks {
  private readonly chunks = new Map<number, Uint8Array>()
  put (index: number, buf: Uint8Array, cb?: (err: Error | null) => void): void { this.chunks.set(index, buf); queueMicrotask(() => cb?.(null)) }
  get (index: number, opts: { offset?: number, length?: number } | null | undefined, cb: (err: Error | null, buf?: Uint8Array) => void): void {
    const buf = this.chunks.get(index)
    if (buf === undefined) { queueMicrotask(() => cb(Object.assign(new Error('Chunk not found'), { notFound: true }))); return }
    const offset = opts?.offset ?? 0
    const out = buf.subarray(offset, offset + (opts?.length ?? buf.length - offset))
    queueMicrotask(() => cb(null, out))
  }

  close (cb?: (err: Error | null) => void): void { queueMicrotask(() => cb?.(null)) }
  destroy (cb?: (err: Error | null) => void): void { this.chunks.clear(); queueMicrotask(() => cb?.(null)) }
}

async function makeTorrent (data: Uint8Array): Promise<{ torrent: Uint8Array, meta: Metainfo }> {
  const torrent = await new Promise<Uint8Array>((resolve, reject) => {
    createTorrent(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { name: 'bench.bin', pieceLength: PIECE_LENGTH, announceList: [], createdBy: 'bt-stream bench' }, (err, t) => { if (err !== null) reject(err); else resolve(t) })
  })
  return { torrent, meta: parseTorrent(torrent) }
}

async function withSeeder<T> (meta: Metainfo, data: Uint8Array, run: (port: number, seeder: Seeder) => Promise<T>): Promise<T> {
  const listener = new PeerListener({ host: '127.0.0.1' })
  const port = await listener.listen()
  const seeder = new Seeder({ meta, reader: new MemoryPieces(data, meta.pieceLength), have: BitField.full(meta.pieceCount), listener })
  seeder.start()
  try {
    return await run(port, seeder)
  } finally {
    await seeder.close()
    await listener.close()
  }
}

function mibPerSecond (bytes: number, t0: bigint): number {
  return bytes / (1024 * 1024) / (Number(process.hrtime.bigint() - t0) / 1e9)
}

export async function benchSeedToWebtorrent (torrent: Uint8Array, meta: Metainfo, data: Uint8Array): Promise<number> {
  return await withSeeder(meta, data, async (port, seeder) => {
    const client = new WebTorrent({ dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds: false, tracker: false, secure: 0 })
    client.on('error', () => {})
    try {
      const t = await new Promise<Torrent>((resolve) => { client.add(torrent, { store: MemoryChunks, storeCacheSlots: 0 }, resolve) })
      const t0 = process.hrtime.bigint()
      const done = new Promise<void>((resolve, reject) => {
        t.once('done', () => resolve())
        t.once('error', reject)
        setTimeout(() => reject(new Error('webtorrent did not finish within 120 s')), 120_000).unref()
      })
      t.addPeer(`127.0.0.1:${port}`)
      await done
      const mib = mibPerSecond(meta.length, t0)
      if (seeder.uploaded < meta.length) throw new Error(`seeder sent ${seeder.uploaded} of ${meta.length} bytes`)
      return mib
    } finally {
      await new Promise<void>(resolve => client.destroy(() => resolve()))
    }
  })
}

/** Steady state: the torrent is requested `passes` times over over one connection. */
export async function benchSeedToPeerConnection (meta: Metainfo, data: Uint8Array, passes = 16): Promise<number> {
  return await withSeeder(meta, data, async (port) => {
    const conn = await connect({ host: '127.0.0.1', port, infoHash: meta.infoHash, pieceCount: meta.pieceCount })
    conn.on('error', () => {})
    try {
      const blocks: Array<[number, number, number]> = []
      for (let pass = 0; pass < passes; pass++) {
        for (let i = 0; i < meta.pieceCount; i++) {
          const len = i === meta.pieceCount - 1 ? meta.lastPieceLength : meta.pieceLength
          for (let b = 0; b < len; b += BLOCK) blocks.push([i, b, Math.min(BLOCK, len - b)])
        }
      }
      conn.interested()
      const t0 = process.hrtime.bigint()
      let sent = 0
      let got = 0
      const inFlight = 250
      const ask = (): void => {
        while (sent < blocks.length && sent - got < inFlight) {
          const [i, b, l] = blocks[sent++] as [number, number, number]
          conn.request(i, b, l)
        }
      }
      for await (const m of conn as AsyncIterable<Message>) {
        if (m.type === 'unchoke') ask()
        if (m.type === 'piece') { got++; ask() }
        if (m.type === 'reject') throw new Error(`rejected ${m.index} ${m.begin}`)
        if (got === blocks.length) break
      }
      return mibPerSecond(meta.length * passes, t0)
    } finally {
      conn.destroy()
    }
  })
}

export async function printSeedUpload (out: NodeJS.WritableStream): Promise<void> {
  const data = randomBytes(SIZE)
  const { torrent, meta } = await makeTorrent(data)
  const wt = await benchSeedToWebtorrent(torrent, meta, data)
  const pc = await benchSeedToPeerConnection(meta, data)
  out.write(`seed upload: Seeder serving ${SIZE / 1024 / 1024} MiB from memory over 127.0.0.1, one process\n`)
  out.write(`  to a webtorrent@3 leecher (hashing, memory store): ${wt.toFixed(0)} MiB/s\n`)
  out.write(`  to a PeerConnection leecher (250 requests in flight, no hashing, 16 passes = 1 GiB): ${pc.toFixed(0)} MiB/s\n`)
}
