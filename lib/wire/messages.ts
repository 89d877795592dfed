/**
 * The peer wire messages (BEP 3, BEP 6 fast extension, BEP 10 extension protocol) as typed values.
 * The message Transform produces these; the encoder consumes them.
 *
 * Every message but keep-alive is `<length prefix: uint32 BE><id: uint8><payload>`.
 */

/** Message ids on the wire. */
export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
  // BEP 6
  suggest: 0x0d,
  haveAll: 0x0e,
  haveNone: 0x0f,
  reject: 0x10,
  allowedFast: 0x11,
  // BEP 10
  extended: 20
} as const

/** The largest block a peer may ask for or send (BEP 3: 16 KiB is the de facto maximum). */
export const MAX_BLOCK_LENGTH = 16 * 1024

export type Message =
  | { readonly type: 'keepAlive' }
  | { readonly type: 'choke' }
  | { readonly type: 'unchoke' }
  | { readonly type: 'interested' }
  | { readonly type: 'notInterested' }
  | { readonly type: 'have', readonly index: number }
  | { readonly type: 'bitfield', readonly bitfield: Uint8Array }
  | { readonly type: 'request', readonly index: number, readonly begin: number, readonly length: number }
  /** `block` is a view into the received bytes where they arrived whole. */
  | { readonly type: 'piece', readonly index: number, readonly begin: number, readonly block: Uint8Array }
  | { readonly type: 'cancel', readonly index: number, readonly begin: number, readonly length: number }
  | { readonly type: 'port', readonly port: number }
  | { readonly type: 'suggest', readonly index: number }
  | { readonly type: 'haveAll' }
  | { readonly type: 'haveNone' }
  | { readonly type: 'reject', readonly index: number, readonly begin: number, readonly length: number }
  | { readonly type: 'allowedFast', readonly index: number }
  /** BEP 10: id 0 is the extension handshake; other ids are the ones we advertised in our `m`. */
  | { readonly type: 'extended', readonly id: number, readonly payload: Uint8Array }
  /** An id we do not know: ignored per BEP 3, surfaced so callers may log it. */
  | { readonly type: 'unknown', readonly id: number, readonly payload: Uint8Array }

export type MessageType = Message['type']
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>
