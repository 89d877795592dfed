import { Transform } from 'streamx'
import type { Handshake } from './handshake.js'
import type { Message } from './messages.js'
import { WireParser, type ParserOptions } from './parser.js'

/** The first frame of a stream that starts with a handshake. */
export interface HandshakeFrame {
  readonly type: 'handshake'
  readonly handshake: Handshake
}

export type DecodedFrame = HandshakeFrame | Message

/**
 * The message Transform: wire bytes in (any chunking), typed frames out: a HandshakeFrame first
 * (unless `handshake: false`), then one Message per length-prefixed message, keep-alives
 * included. A bound violation destroys the stream with a ProtocolError.
 *
 * Readable-side size counts piece blocks by their bytes (other frames as 16), so a slow consumer
 * stops `_transform` from being called and the writer upstream sees backpressure.
 */
export class MessageDecoder extends Transform {
  readonly parser: WireParser

  constructor (opts: ParserOptions & { readonly highWaterMark?: number } = {}) {
    super({ highWaterMark: opts.highWaterMark ?? 256 * 1024, byteLengthReadable: frameSize, byteLengthWritable: (b: unknown) => (b as Uint8Array).byteLength })
    this.parser = new WireParser({
      handshake: (handshake) => { this.push({ type: 'handshake', handshake } satisfies HandshakeFrame) },
      message: (m) => { this.push(m) },
      error: (err) => { this.destroy(err) }
    }, opts)
  }

  override _transform (chunk: unknown, cb: (err: Error | null, data?: unknown) => void): void {
    this.parser.write(chunk as Uint8Array)
    cb(null)
  }
}

/** Bytes a frame holds on to (a piece block is a view into a received chunk). */
export function frameSize (f: unknown): number {
  const frame = f as DecodedFrame
  switch (frame.type) {
    case 'piece': return 13 + frame.block.length
    case 'bitfield': return 5 + frame.bitfield.length
    case 'extended': return 6 + frame.payload.length
    case 'unknown': return 5 + frame.payload.length
    default: return 16
  }
}
