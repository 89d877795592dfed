/**
 * Hostile peers for the robustness tests: each case is a handshake and the bad bytes behind it in
 * ONE write(), so they arrive in the same TCP segment (the same socket read) as the handshake.
 * That is the case that used to end the process: the bytes are parsed while the connection passes
 * from the handshake waiter to its owner.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import { EXTENSION_IDS } from '../../lib/extensions/extension-ids.js'
import { BitField } from '../../lib/wire/bitfield.js'
import { encodeHandshake, encodeReserved } from '../../lib/wire/handshake.js'
import { frames } from '../wire/helpers.js'

const ALL = encodeReserved({ extended: true, fast: true, dht: false })
const NO_FAST = encodeReserved({ extended: true, fast: false, dht: false })
const NO_EXTENSIONS = encodeReserved({ extended: false, fast: false, dht: false })
const HOSTILE_ID = Buffer.from('-XX0000-hostilepeer!')
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

export interface HostileCase {
  readonly name: string
  /** The reserved bytes of its handshake (what it claims to speak). */
  readonly reserved?: Uint8Array
  /** The bytes after its handshake, for a torrent of `pieceCount` pieces of `pieceLength`. */
  readonly bytes: (pieceCount: number, pieceLength: number) => Uint8Array
  /** Replace the handshake itself (garbage, another torrent). */
  readonly handshake?: (infoHash: Uint8Array) => Uint8Array
  /** A peer that does this is dropped; otherwise (liberal rules) it may stay. */
  readonly dropped: boolean
}

/** A frame with an arbitrary length prefix and id, body zeros: for lengths no encoder makes. */
function rawFrame (length: number, id: number, bodyBytes = Math.max(0, length - 1)): Buffer {
  const b = Buffer.alloc(5 + bodyBytes)
  b.writeUInt32BE(length >>> 0, 0)
  b[4] = id
  return b
}

function fullBitfield (pieceCount: number): Uint8Array {
  return BitField.full(pieceCount).bytes
}

export const HOSTILE_CASES: readonly HostileCase[] = [
  { name: 'length prefix 0xfffffff0', bytes: () => Uint8Array.from([0xff, 0xff, 0xff, 0xf0, 7]), dropped: true },
  { name: 'bitfield one byte too long', bytes: (n) => rawFrame(1 + BitField.byteLength(n) + 1, 5), dropped: true },
  // The tests' torrents have a piece count that is not a multiple of 8, so there are spare bits.
  { name: 'bitfield with spare bits set', bytes: (n) => { const f = rawFrame(1 + BitField.byteLength(n), 5); f[f.length - 1] = 0xff; return f }, dropped: true },
  { name: 'have out of range', bytes: (n) => frames([{ type: 'have', index: n }]), dropped: true },
  { name: 'have 2^32-1', bytes: () => { const f = rawFrame(5, 4); f.writeUInt32BE(0xffffffff, 5); return f }, dropped: true },
  { name: 'have all without BEP 6', reserved: NO_FAST, bytes: () => frames([{ type: 'haveAll' }]), dropped: true },
  { name: 'extended message without BEP 10', reserved: NO_EXTENSIONS, bytes: () => frames([{ type: 'extended', id: 0, payload: text('de') }]), dropped: true },
  { name: 'two bitfields (liberal: merged)', bytes: (n) => frames([{ type: 'bitfield', bitfield: fullBitfield(n) }, { type: 'bitfield', bitfield: fullBitfield(n) }]), dropped: false },
  { name: 'haves then a bitfield (aria2; liberal: merged)', bytes: (n) => frames([{ type: 'haveNone' }, { type: 'have', index: 0 }, { type: 'bitfield', bitfield: fullBitfield(n) }]), dropped: false },
  { name: 'extension handshake that is not a dict', bytes: () => frames([{ type: 'extended', id: 0, payload: text('i42e') }]), dropped: true },
  { name: 'extension handshake with a negative string length (l-3:e)', bytes: () => frames([{ type: 'extended', id: 0, payload: text('l-3:e') }]), dropped: true },
  { name: 'extension handshake cut short', bytes: () => frames([{ type: 'extended', id: 0, payload: text('d1:md') }]), dropped: true },
  { name: 'piece block of 16 KiB + 1', bytes: () => rawFrame(9 + 16385, 7), dropped: true },
  { name: 'piece past the end of its piece (unrequested)', bytes: (_n, len) => frames([{ type: 'unchoke' }, { type: 'piece', index: 0, begin: len - 8, block: new Uint8Array(16384) }]), dropped: false },
  { name: 'request of 16 KiB + 1', bytes: () => frames([{ type: 'request', index: 0, begin: 0, length: 16385 }]), dropped: true },
  { name: 'request past the last piece', bytes: (n) => frames([{ type: 'request', index: n + 5, begin: 0, length: 16384 }]), dropped: true },
  { name: 'unknown id with a 1 MiB length', bytes: () => Uint8Array.from([0, 0x10, 0, 0, 99]), dropped: true },
  { name: 'port message of the wrong length', bytes: () => rawFrame(5, 9), dropped: true },
  { name: 'choke with a body', bytes: () => rawFrame(3, 0), dropped: true },
  { name: 'ut_metadata garbage', bytes: () => frames([{ type: 'extended', id: EXTENSION_IDS.ut_metadata, payload: text('xyz') }]), dropped: false },
  { name: 'ut_metadata data never asked for', bytes: () => frames([{ type: 'extended', id: EXTENSION_IDS.ut_metadata, payload: text('d8:msg_typei1e5:piecei0e10:total_sizei99999999eexxxx') }]), dropped: false },
  { name: 'ut_pex that is not a dict', bytes: () => frames([{ type: 'extended', id: EXTENSION_IDS.ut_pex, payload: text('i1e') }]), dropped: false },
  { name: 'not a BitTorrent handshake', handshake: () => Buffer.alloc(68, 0x41), bytes: () => new Uint8Array(0), dropped: true },
  { name: 'handshake for another torrent', handshake: () => encodeHandshake({ reserved: ALL, infoHash: new Uint8Array(20).fill(0xee), peerId: HOSTILE_ID }), bytes: () => frames([{ type: 'unchoke' }]), dropped: true }
]

/** The handshake and the bad bytes, as one buffer: written with a single write(). */
export function hostileBytes (c: HostileCase, infoHash: Uint8Array, pieceCount: number, pieceLength: number): Buffer {
  const hs = c.handshake?.(infoHash) ?? encodeHandshake({ reserved: c.reserved ?? ALL, infoHash, peerId: HOSTILE_ID })
  return Buffer.concat([hs, c.bytes(pieceCount, pieceLength)])
}

export interface HostileServer {
  readonly port: number
  /** Connections accepted so far. */
  connections (): number
  /** Connections the other side (us) closed. */
  closedByPeer (): number
  close (): Promise<void>
}

/**
 * A listening peer that counts its connections and the ones we closed; `onSocket` plays its part
 * on each (`closed` tells it when we closed that one).
 */
async function listenHostile (onSocket: (socket: Socket, closed: Promise<void>) => void): Promise<HostileServer> {
  const sockets = new Set<Socket>()
  let connections = 0
  let closed = 0
  const server: Server = createServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('error', () => {})
    onSocket(socket, new Promise<void>((resolve) => socket.once('close', () => { sockets.delete(socket); closed++; resolve() })))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as { port: number }).port,
    connections: () => connections,
    closedByPeer: () => closed,
    async close () {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/**
 * A hostile peer that listens (our side dials it): on each connection it writes its handshake and
 * the bad bytes at once, without waiting for ours, and never closes by itself.
 */
export async function startHostileServer (c: HostileCase, infoHash: Uint8Array, pieceCount: number, pieceLength: number): Promise<HostileServer> {
  return await listenHostile((socket) => {
    socket.resume()
    socket.write(hostileBytes(c, infoHash, pieceCount, pieceLength))
  })
}

/**
 * The same bad bytes, sent later: after its handshake a full bitfield and an unchoke, and the
 * case's bytes only once our first request arrived. By then the engine takes messages straight
 * from the parser, and a dialed plaintext socket is read into the shared reused buffer
 * (lib/wire/borrowed-reads.ts): the path every block of a download goes through.
 * `triggered`: connections that got the bad bytes; `droppedWithin(ms)`: of those, the ones we
 * closed within `ms` of their bad bytes (not when the download ended).
 */
export async function startLateHostileServer (c: HostileCase, infoHash: Uint8Array, pieceCount: number, pieceLength: number): Promise<HostileServer & { triggered: () => number, droppedWithin: (ms: number) => number }> {
  let triggered = 0
  /** For each connection that got the bad bytes: how long after them we closed it (ms). */
  const closedAfterMs: number[] = []
  const REQUEST_HEAD = Buffer.from([0, 0, 0, 13, 6])
  const server = await listenHostile((socket, closed) => {
    let seen = Buffer.alloc(0)
    let sentAt: number | undefined
    void closed.then(() => { if (sentAt !== undefined) closedAfterMs.push(Date.now() - sentAt) })
    socket.on('data', (chunk: Buffer) => {
      if (sentAt !== undefined) return
      // Bounded: only the tail that may hold the start of a request is kept.
      seen = Buffer.concat([seen.subarray(-4), chunk])
      if (seen.indexOf(REQUEST_HEAD) === -1) return
      sentAt = Date.now()
      triggered++
      socket.write(c.bytes(pieceCount, pieceLength))
    })
    const hs = c.handshake?.(infoHash) ?? encodeHandshake({ reserved: c.reserved ?? ALL, infoHash, peerId: HOSTILE_ID })
    socket.write(Buffer.concat([hs, frames([{ type: 'bitfield', bitfield: fullBitfield(pieceCount) }, { type: 'unchoke' }])]))
  })
  return {
    ...server,
    triggered: () => triggered,
    droppedWithin: (ms: number) => closedAfterMs.filter(d => d <= ms).length
  }
}

/**
 * A hostile peer that dials (our side accepts): the handshake and the bad bytes in one write.
 * Resolves with whether we closed the connection within `waitMs`.
 */
export async function hostileDial (c: HostileCase, port: number, infoHash: Uint8Array, pieceCount: number, pieceLength: number, waitMs = 3000): Promise<boolean> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.resume()
  const closed = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), waitMs)
    socket.once('close', () => { clearTimeout(timer); resolve(true) })
  })
  socket.write(hostileBytes(c, infoHash, pieceCount, pieceLength))
  try { return await closed } finally { socket.destroy() }
}
