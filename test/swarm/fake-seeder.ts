/**
 * A seeder written for the tests, on our own wire stack over real loopback TCP, that can misbehave
 * on purpose: corrupt blocks, silence after unchoke, a disconnect mid-piece, slowness. Honest
 * seeders that no one here wrote (webtorrent) are in test/e2e.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import { acceptPeer } from '../../lib/wire/connect.js'
import { BitField } from '../../lib/wire/bitfield.js'
import type { Message } from '../../lib/wire/messages.js'
import type { PeerConnection } from '../../lib/wire/peer-connection.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { encodePex, flagsFromByte } from '../../lib/extensions/pex-codec.js'
import type { PeerAddress } from '../../lib/tracker/compact.js'

export type Behaviour =
  | { kind: 'honest' }
  | { kind: 'corrupt' }
  | { kind: 'silent' }
  | { kind: 'disconnect', afterBlocks: number }
  /** Answers one block per `delayMs`, in order: a peer with a thin upload. */
  | { kind: 'slow', delayMs: number }
  | { kind: 'choking' }

export interface FakeSeeder {
  readonly port: number
  /** Blocks sent, over all connections. */
  readonly sent: () => number
  readonly connections: () => number
  close (): Promise<void>
}

export interface FakeSeederExtras {
  /** Tell every peer of these addresses by BEP 11 PEX once its extension handshake arrives. */
  readonly pex?: readonly PeerAddress[]
  /** Have (and serve) only the first this many pieces: a partial seed. */
  readonly pieces?: number
}

export async function startFakeSeeder (meta: Metainfo, data: Uint8Array, behaviour: Behaviour, extras: FakeSeederExtras = {}): Promise<FakeSeeder> {
  let sent = 0
  let connections = 0
  let slowQueue: Promise<void> = Promise.resolve()
  const conns = new Set<PeerConnection>()
  const sockets = new Set<Socket>()
  const have = BitField.full(meta.pieceCount)
  if (extras.pieces !== undefined) for (let i = extras.pieces; i < meta.pieceCount; i++) have.set(i, false)
  const server: Server = createServer(socket => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    acceptPeer(socket, {
      accept: hash => Buffer.from(hash).equals(Buffer.from(meta.infoHash)),
      have,
      pieceCount: meta.pieceCount,
      handshakeTimeout: 5000,
      extensions: { m: { ut_pex: 7 } }
    }).then(conn => {
      connections++
      if (extras.pex !== undefined) sendPexWhenReady(conn, extras.pex)
      conns.add(conn)
      conn.on('error', () => {})
      conn.on('close', () => conns.delete(conn))
      conn.on('data', (m: unknown) => serve(conn, m as Message))
    }, () => { socket.destroy() })
  })

  const serve = (conn: PeerConnection, m: Message): void => {
    if (m.type === 'interested') { if (behaviour.kind !== 'choking') conn.unchoke(); return }
    if (m.type !== 'request' || !have.get(m.index)) return
    if (behaviour.kind === 'silent') return
    if (behaviour.kind === 'disconnect' && sent >= behaviour.afterBlocks) { conn.destroy(); return }
    const at = m.index * meta.pieceLength + m.begin
    let block: Uint8Array = data.subarray(at, at + m.length)
    if (behaviour.kind === 'corrupt') {
      block = Uint8Array.from(block)
      block[0] = block[0]! ^ 0xff
    }
    const send = (): void => {
      if (conn.destroyed) return
      sent++
      conn.piece(m.index, m.begin, block)
    }
    if (behaviour.kind === 'slow') {
      slowQueue = slowQueue.then(() => new Promise<void>(resolve => setTimeout(() => { send(); resolve() }, behaviour.delayMs).unref()))
    } else send()
  }

  const sendPexWhenReady = (conn: PeerConnection, peers: readonly PeerAddress[]): void => {
    const send = (): void => {
      const id = conn.peerExtendedHandshake?.m.ut_pex
      if (id !== undefined && id > 0) conn.extended(id, encodePex({ added: peers.map(p => ({ ...p, flags: flagsFromByte(0x10) })), dropped: [] }))
    }
    if (conn.peerExtendedHandshake !== undefined) send()
    else conn.once('extended-handshake', send)
  }

  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  return {
    port,
    sent: () => sent,
    connections: () => connections,
    async close () {
      for (const c of conns) c.destroy()
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}
