import { createSocket, type Socket as UdpSocket } from 'node:dgram'
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
