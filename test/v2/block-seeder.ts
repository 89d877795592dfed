/**
 * A v2-only seeder for the block-streaming tests, on our own wire stack over loopback TCP: it
 * answers BEP 52 block-hash requests (layer 0, what our HashResponder does not serve) from the
 * file's full tree, or rejects them, and can corrupt blocks, hold one block back until the test
 * lets it go, or hold its blocks until it answered a hash request itself.
 */
import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { acceptPeer } from '../../lib/wire/connect.js'
import { decodeHashRequest, encodeHashes, encodeHashReject, HashMessageId } from '../../lib/wire/hash-messages.js'
import type { Message } from '../../lib/wire/messages.js'
import type { PeerConnection } from '../../lib/wire/peer-connection.js'
import { naiveTree } from './helpers.js'

export interface BlockSeederOptions {
  /** How it meets a hash request for block hashes. */
  readonly hashes: 'answer' | 'reject'
  /** Blocks of these pieces are sent with their first byte flipped. */
  readonly corrupt?: (index: number) => boolean
  /** This block is sent only once `release` settles. */
  readonly hold?: { readonly index: number, readonly begin: number, readonly release: Promise<void> }
  /** Have only the first this many pieces. */
  readonly pieces?: number
}

export interface BlockSeeder {
  readonly port: number
  /** Blocks sent of each piece. */
  readonly sentOf: (index: number) => number
  readonly hashRequests: () => number
  close (): Promise<void>
}

/** A single-file v2-only torrent's seeder (`data` is the file). */
export async function startBlockSeeder (meta: Metainfo, data: Uint8Array, opts: BlockSeederOptions): Promise<BlockSeeder> {
  const leaves = naiveTree(data)[0] as Buffer[]
  const sent = new Map<number, number>()
  let hashRequests = 0
  const conns = new Set<PeerConnection>()
  const sockets = new Set<Socket>()
  const have = BitField.full(meta.pieceCount)
  if (opts.pieces !== undefined) for (let i = opts.pieces; i < meta.pieceCount; i++) have.set(i, false)
  const server: Server = createServer(socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    acceptPeer(socket, { accept: h => Buffer.from(h).equals(Buffer.from(meta.infoHash)), have, pieceCount: meta.pieceCount, handshakeTimeout: 5000 }).then(conn => {
      conns.add(conn)
      conn.on('error', () => {})
      conn.on('close', () => conns.delete(conn))
      conn.on('data', (m: unknown) => serve(conn, m as Message))
    }, () => socket.destroy())
  })

  const serve = (conn: PeerConnection, m: Message): void => {
    if (m.type === 'interested') { conn.unchoke(); return }
    if (m.type === 'unknown' && m.id === HashMessageId.hashRequest) {
      hashRequests++
      const r = decodeHashRequest(m.payload)
      if (opts.hashes === 'reject' || r.baseLayer !== 0) {
        conn.write({ type: 'unknown', id: HashMessageId.hashReject, payload: encodeHashReject(r) })
        return
      }
      const hashes = leaves.slice(r.index, r.index + r.length)
      while (hashes.length < r.length) hashes.push(Buffer.alloc(32))
      conn.write({ type: 'unknown', id: HashMessageId.hashes, payload: encodeHashes({ ...r, hashes, uncles: [] }) })
      return
    }
    if (m.type !== 'request' || !have.get(m.index)) return
    const at = m.index * meta.pieceLength + m.begin
    let block: Uint8Array = data.subarray(at, at + m.length)
    if (opts.corrupt?.(m.index) === true) {
      block = Uint8Array.from(block)
      block[0] = block[0]! ^ 0xff
    }
    const send = (): void => {
      if (conn.destroyed) return
      sent.set(m.index, (sent.get(m.index) ?? 0) + 1)
      conn.piece(m.index, m.begin, block)
    }
    if (opts.hold !== undefined && opts.hold.index === m.index && opts.hold.begin === m.begin) void opts.hold.release.then(send)
    else send()
  }

  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as { port: number }).port,
    sentOf: index => sent.get(index) ?? 0,
    hashRequests: () => hashRequests,
    async close () {
      for (const c of conns) c.destroy()
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}
