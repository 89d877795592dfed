import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import type { Readable } from 'streamx'
import { ourExtensions } from '../../lib/extensions/extension-ids.js'
import type { Metainfo } from '../../lib/metainfo/types.js'
import { MergingWritable } from '../../lib/output/merging-writable.js'
import type { Seeder } from '../../lib/seed/seeder.js'
import { Swarm } from '../../lib/swarm/swarm.js'
import type { SwarmOptions } from '../../lib/swarm/types.js'
import { wirePeer } from '../../lib/swarm/wire-peer.js'
import type { PeerAddress } from '../../lib/tracker/compact.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { waitForHandshake } from '../../lib/wire/connect.js'
import { PeerConnection } from '../../lib/wire/peer-connection.js'
import { generatePeerId } from '../../lib/wire/peer-id.js'
import { collect, prng } from '../helpers.js'
import { loadUtpNative, UtpUnavailableError } from '../../lib/utp/native.js'
import { UtpTransport, type UtpTransportOptions } from '../../lib/utp/transport.js'

/** The skip reason when libutp cannot load here (the tests need the real thing). */
export function utpSkip (): string | false {
  const native = loadUtpNative()
  return native instanceof UtpUnavailableError ? native.message : false
}

/** A transport on 127.0.0.1, closed by the caller. */
export function openTransport (opts: UtpTransportOptions = {}): Promise<UtpTransport> {
  return UtpTransport.open({ host: '127.0.0.1', ...opts })
}

/** BEP 29 packet types. */
export const ST_DATA = 0
export const ST_FIN = 1
export const ST_STATE = 2
export const ST_RESET = 3
export const ST_SYN = 4

export interface UtpHeader {
  readonly type: number
  readonly connectionId: number
  readonly seq: number
  readonly ack: number
  readonly wnd?: number
}

/**
 * A BEP 29 header (20 bytes): type|version, extension, connection_id, timestamp_microseconds,
 * timestamp_difference_microseconds, wnd_size, seq_nr, ack_nr; then the payload.
 */
export function utpPacket (h: UtpHeader, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const b = Buffer.alloc(20 + payload.length)
  b[0] = (h.type << 4) | 1
  b[1] = 0
  b.writeUInt16BE(h.connectionId & 0xffff, 2)
  b.writeUInt32BE(Number(process.hrtime.bigint() / 1000n & 0xffffffffn), 4)
  b.writeUInt32BE(0, 8)
  b.writeUInt32BE(h.wnd ?? 1024 * 1024, 12)
  b.writeUInt16BE(h.seq & 0xffff, 16)
  b.writeUInt16BE(h.ack & 0xffff, 18)
  b.set(payload, 20)
  return b
}

export function parseHeader (b: Buffer): UtpHeader & { payload: Buffer } {
  return { type: b[0]! >> 4, connectionId: b.readUInt16BE(2), seq: b.readUInt16BE(16), ack: b.readUInt16BE(18), wnd: b.readUInt32BE(12), payload: b.subarray(20) }
}

/** A raw UDP socket on 127.0.0.1 (a hand-made uTP peer). */
export async function rawSocket (): Promise<UdpSocket & { port: number }> {
  const s = createSocket('udp4')
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve))
  return Object.assign(s, { port: s.address().port })
}

/** A torrent's bytes fetched by a Swarm whose every dial goes through `connect`, in order. */
export async function swarmDownload (meta: Metainfo, peers: readonly PeerAddress[], connect: SwarmOptions['connect'], opts: { readonly windowBytes?: number, readonly consume?: (out: Readable) => Promise<Buffer> } = {}): Promise<{ bytes: Buffer, swarm: Swarm }> {
  const windowPieces = Math.max(2, Math.ceil((opts.windowBytes ?? 16 * 1024 * 1024) / meta.pieceLength))
  const merger = new MergingWritable({ pieceLength: meta.pieceLength, start: 0, end: meta.length, maxHeldBytes: windowPieces * meta.pieceLength })
  merger.on('error', () => {})
  const swarm = new Swarm({ meta, peerId: generatePeerId(), sink: merger, windowPieces, connect, stallTimeoutMs: 30_000 })
  merger.on('advance', next => swarm.sinkAdvanced(next))
  merger.on('drain', () => swarm.sinkDrained())
  const failed = new Promise<never>((_resolve, reject) => swarm.on('error', reject))
  swarm.start()
  for (const p of peers) swarm.addPeer(p, 'manual')
  try {
    const bytes = await Promise.race([(opts.consume ?? collect)(merger.output), failed])
    return { bytes, swarm }
  } finally {
    swarm.stop()
    if (!merger.destroyed) merger.destroy()
  }
}

/** The swarm's dial over uTP: connect, both handshakes, the engine's view of the peer. */
export function utpDialer (transport: UtpTransport, meta: Metainfo): SwarmOptions['connect'] {
  return async (addr, signal) => {
    const stream = await transport.dial(addr.host, addr.port, { signal })
    const conn = new PeerConnection(stream, { infoHash: meta.infoHash, pieceCount: meta.pieceCount, extensions: ourExtensions({ metadataSize: meta.infoBytes.length, private: meta.private }) })
    try {
      await waitForHandshake(conn)
    } catch (err) {
      conn.destroy()
      throw err
    }
    return wirePeer(conn)
  }
}

/** Serves `seeder`'s torrent to every uTP connection the transport accepts (what PeerListener does over TCP). */
export function serveOverUtp (transport: UtpTransport, meta: Metainfo, seeder: Seeder): void {
  transport.on('connection', (stream) => {
    const conn: PeerConnection = new PeerConnection(stream, {
      pieceCount: meta.pieceCount,
      have: BitField.full(meta.pieceCount),
      accept: (ih) => Buffer.from(ih).equals(Buffer.from(meta.infoHash))
    })
    waitForHandshake(conn).then(() => { seeder.addConnection(conn) }, () => { conn.destroy() })
  })
}

/** Deterministic bytes (tests' junk is the same on every run). */
export function prngBytes (seed: number): (n: number) => Buffer {
  const next = prng(seed)
  return (n) => {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256)
    return b
  }
}
