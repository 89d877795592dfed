import { Transform } from 'streamx'
import { MessageId, type Message } from './messages.js'

/**
 * Message → wire bytes, with the fewest allocations: a message is a small header and, for
 * bitfield / piece / extended / unknown, the caller's payload *as is* (never concatenated into a
 * new buffer; the sink writes the two chunks, corked, so the kernel sees one writev).
 *
 *   keep-alive     <len=0>
 *   choke          <len=1><id=0>          (unchoke 1, interested 2, not interested 3,
 *                                          have all 0x0E, have none 0x0F: same shape)
 *   have           <len=5><id=4><index>   (suggest 0x0D, allowed fast 0x11: same shape)
 *   bitfield       <len=1+X><id=5><bitfield>
 *   request        <len=13><id=6><index><begin><length>  (cancel 8, reject 0x10: same shape)
 *   piece          <len=9+X><id=7><index><begin><block>
 *   port           <len=3><id=9><listen-port: uint16>
 *   extended       <len=2+X><id=20><extended id: uint8><payload>
 */
export interface EncodedMessage {
  readonly head: Uint8Array
  /** The caller's payload, untouched (a view, not a copy); absent for fixed-size messages. */
  readonly body?: Uint8Array
}

/** Fixed messages never change: one shared buffer each (sinks do not mutate what they write). */
const KEEP_ALIVE = new Uint8Array(4)
const bare = (id: number): Uint8Array => new Uint8Array([0, 0, 0, 1, id])
const BARE: Partial<Record<Message['type'], EncodedMessage>> = {
  keepAlive: { head: KEEP_ALIVE },
  choke: { head: bare(MessageId.choke) },
  unchoke: { head: bare(MessageId.unchoke) },
  interested: { head: bare(MessageId.interested) },
  notInterested: { head: bare(MessageId.notInterested) },
  haveAll: { head: bare(MessageId.haveAll) },
  haveNone: { head: bare(MessageId.haveNone) }
}

export function encodeMessage (m: Message): EncodedMessage {
  switch (m.type) {
    case 'keepAlive': case 'choke': case 'unchoke': case 'interested': case 'notInterested':
    case 'haveAll': case 'haveNone':
      return BARE[m.type] as EncodedMessage
    case 'have': return { head: indexMessage(MessageId.have, m.index) }
    case 'suggest': return { head: indexMessage(MessageId.suggest, m.index) }
    case 'allowedFast': return { head: indexMessage(MessageId.allowedFast, m.index) }
    case 'request': return { head: blockRef(MessageId.request, m.index, m.begin, m.length) }
    case 'cancel': return { head: blockRef(MessageId.cancel, m.index, m.begin, m.length) }
    case 'reject': return { head: blockRef(MessageId.reject, m.index, m.begin, m.length) }
    case 'bitfield': return { head: header(MessageId.bitfield, 1 + m.bitfield.length, 5), body: m.bitfield }
    case 'unknown': return { head: header(m.id, 1 + m.payload.length, 5), body: m.payload }
    case 'piece': {
      const head = header(MessageId.piece, 9 + m.block.length, 13)
      putUint32(head, 5, m.index)
      putUint32(head, 9, m.begin)
      return { head, body: m.block }
    }
    case 'port': {
      const head = header(MessageId.port, 3, 7)
      head[5] = m.port >>> 8
      head[6] = m.port & 0xff
      return { head }
    }
    case 'extended': {
      const head = header(MessageId.extended, 2 + m.payload.length, 6)
      head[5] = m.id
      return { head, body: m.payload }
    }
  }
}

/** `request` messages back to back in one buffer (BEP 3: 17 bytes each). */
export function encodeRequests (list: ReadonlyArray<{ readonly index: number, readonly begin: number, readonly length: number }>): Uint8Array {
  // Small enough for Node's shared 8 KiB pool up to 240 requests: no ArrayBuffer of its own.
  const out = Buffer.allocUnsafe(17 * list.length)
  let at = 0
  for (const r of list) {
    out.writeUInt32BE(13, at)
    out[at + 4] = MessageId.request
    out.writeUInt32BE(r.index, at + 5)
    out.writeUInt32BE(r.begin, at + 9)
    out.writeUInt32BE(r.length, at + 13)
    at += 17
  }
  return out
}

/** Total bytes a message takes on the wire (without encoding it: used for buffer accounting). */
export function encodedLength (m: Message): number {
  switch (m.type) {
    case 'keepAlive': return 4
    case 'have': case 'suggest': case 'allowedFast': return 9
    case 'request': case 'cancel': case 'reject': return 17
    case 'bitfield': return 5 + m.bitfield.length
    case 'unknown': return 5 + m.payload.length
    case 'piece': return 13 + m.block.length
    case 'port': return 7
    case 'extended': return 6 + m.payload.length
    default: return 5
  }
}

/**
 * Big-endian, for values below 2^32. Not a DataView: `head.buffer` on a small on-heap Uint8Array
 * makes V8 move its bytes off the heap into an ArrayBuffer of their own, once per message (a
 * seed's 13-byte piece headers were a full GC every few hundred MiB).
 */
function putUint32 (b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24
  b[at + 1] = (v >>> 16) & 0xff
  b[at + 2] = (v >>> 8) & 0xff
  b[at + 3] = v & 0xff
}

function header (id: number, length: number, size: number): Uint8Array {
  const head = new Uint8Array(size)
  putUint32(head, 0, length)
  head[4] = id
  return head
}

function indexMessage (id: number, index: number): Uint8Array {
  const head = header(id, 5, 9)
  putUint32(head, 5, index)
  return head
}

function blockRef (id: number, index: number, begin: number, length: number): Uint8Array {
  const head = header(id, 13, 17)
  putUint32(head, 5, index)
  putUint32(head, 9, begin)
  putUint32(head, 13, length)
  return head
}

/**
 * The encoder as a streamx Transform (messages in, bytes out), for piping to any byte sink.
 * Header and payload leave as two chunks; PeerConnection writes to its socket directly instead.
 */
export class MessageEncoder extends Transform {
  constructor () {
    super({ byteLengthWritable: (m: unknown) => encodedLength(m as Message) })
  }

  override _transform (m: unknown, cb: (err: Error | null, data?: unknown) => void): void {
    const e = encodeMessage(m as Message)
    this.push(e.head)
    if (e.body !== undefined && e.body.length > 0) this.push(e.body)
    cb(null)
  }
}
