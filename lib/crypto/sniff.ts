import type { Duplex } from 'node:stream'
import { ProtocolError } from '../util/errors.js'

/**
 * Tells an inbound plaintext BitTorrent handshake from MSE/PE on one port: BEP 3's handshake
 * starts with the 20 bytes `19 "BitTorrent protocol"`; an MSE initiator starts with a random
 * 96-byte DH key, which differs from them within its first bytes (a key starting with all 20 is
 * a 2^-160 event). So it reads until a byte differs (MSE) or 20 match (plaintext), usually the
 * first chunk, and hands back what it read: the caller unshifts it (plaintext) or gives it to the
 * MSE responder. The socket is left paused; the next owner resumes it.
 *
 * MSE also waits here for the rest of the 96-byte key, but only KEY_TAIL_TIMEOUT after the first
 * byte: an initiator writes its key (and padding) in one write, one TCP segment, so a key cut
 * short is not MSE, and a socket that sent 68 bytes of garbage must not hold one of the
 * listener's handshaking slots for the whole handshake timeout.
 */
const PREFIX = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol', 'latin1')])
const MSE_KEY_LENGTH = 96
/** Generous for the rest of one segment (a retransmission or two); far below the handshake timeout. */
export const KEY_TAIL_TIMEOUT = 1000

export interface Sniffed {
  readonly plaintext: boolean
  readonly head: Buffer
}

export function sniffProtocol (socket: Duplex, timeout: number): Promise<Sniffed> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    let seen = 0
    let total = 0
    let mse = false
    let tailTimer: ReturnType<typeof setTimeout> | undefined
    const onData = (chunk: Buffer): void => {
      parts.push(chunk)
      total += chunk.length
      if (!mse) {
        const n = Math.min(PREFIX.length - seen, chunk.length)
        for (let i = 0; i < n && !mse; i++) if (chunk[i] !== PREFIX[seen + i]) mse = true
        seen += n
        if (!mse && seen >= PREFIX.length) { done(true); return }
      }
      if (!mse) return
      if (total >= MSE_KEY_LENGTH) { done(false); return }
      tailTimer ??= setTimeout(() => { fail(new ProtocolError(`not a BitTorrent handshake, nor an MSE key (${total} bytes, then nothing for ${KEY_TAIL_TIMEOUT} ms)`)) }, KEY_TAIL_TIMEOUT)
    }
    const onEnd = (): void => { fail(new ProtocolError('peer closed the connection before its first 20 bytes')) }
    const onError = (err: Error): void => { fail(err) }
    const timer = setTimeout(() => { fail(new ProtocolError(`no handshake within ${timeout} ms`)) }, timeout)
    const cleanup = (): void => {
      clearTimeout(timer)
      clearTimeout(tailTimer)
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.off('close', onEnd)
      socket.off('error', onError)
    }
    const done = (plaintext: boolean): void => {
      socket.pause()
      cleanup()
      resolve({ plaintext, head: Buffer.concat(parts) })
    }
    const fail = (err: Error): void => { cleanup(); reject(err) }
    // Until the next owner attaches its own, an error must not be fatal (it sees the socket closed).
    socket.on('error', ignore)
    socket.on('data', onData)
    socket.once('end', onEnd)
    socket.once('close', onEnd)
    socket.once('error', onError)
  })
}

function ignore (): void {}
