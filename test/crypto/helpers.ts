import type { Socket } from 'node:net'
import { EncryptedStream, type EncryptedStreamOptions } from '../../lib/crypto/encrypted-stream.js'
import { CRYPTO_PLAINTEXT, CRYPTO_RC4, selectMethod, skeyHash, type MseResult } from '../../lib/crypto/mse-handshake.js'
import { within } from '../wire/helpers.js'

export const INFO_HASH = new Uint8Array(20).fill(0x42)
export const BOTH = CRYPTO_PLAINTEXT | CRYPTO_RC4

/** The responder's lookup for a list of info hashes (what the listener keeps). */
export function skeys (...infoHashes: Uint8Array[]): (req2: Uint8Array) => Uint8Array | undefined {
  const byHash = new Map(infoHashes.map(ih => [Buffer.from(skeyHash(ih)).toString('hex'), ih]))
  return (req2) => byHash.get(Buffer.from(req2).toString('hex'))
}

export function initiator (socket: Socket, more: Partial<EncryptedStreamOptions> = {}): EncryptedStream {
  const s = new EncryptedStream(socket, { role: 'initiator', infoHash: INFO_HASH, provide: BOTH, ...more } as EncryptedStreamOptions)
  s.on('error', () => {})
  return s
}

export function responder (socket: Socket, more: Partial<EncryptedStreamOptions> = {}): EncryptedStream {
  const s = new EncryptedStream(socket, { role: 'responder', findSkey: skeys(INFO_HASH), select: selectMethod(BOTH), ...more } as EncryptedStreamOptions)
  s.on('error', () => {})
  return s
}

export function mseDone (s: EncryptedStream, ms = 5000): Promise<MseResult> {
  return within(ms, 'MSE handshake', new Promise((resolve, reject) => {
    if (s.mse !== undefined) { resolve(s.mse); return }
    s.once('mse', resolve)
    s.once('close', () => reject(new Error('closed before the MSE handshake finished')))
  }))
}

/** Why the stream closed (undefined: cleanly), within `ms`. */
export function closeReason (s: EncryptedStream, ms = 5000): Promise<Error | undefined> {
  return within(ms, 'stream close', new Promise((resolve) => {
    let error: Error | undefined
    if (s.destroyed) { resolve((s as unknown as { errored?: Error | null }).errored ?? undefined); return }
    s.on('error', (err) => { error = err })
    s.on('close', () => resolve(error))
  }))
}

/** Reads exactly n bytes from a stream (paused mode). */
export function readBytes (s: NodeJS.ReadableStream & { read: (n?: number) => unknown }, n: number, ms = 10_000): Promise<Buffer> {
  return within(ms, `${n} bytes`, new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    let got = 0
    const pull = (): void => {
      for (;;) {
        const c = s.read() as Buffer | null
        if (c === null) return
        parts.push(c)
        got += c.length
        if (got >= n) {
          cleanup()
          const all = Buffer.concat(parts)
          if (all.length > n) (s as unknown as { unshift: (b: Buffer) => void }).unshift(all.subarray(n))
          resolve(all.subarray(0, n))
          return
        }
      }
    }
    const onEnd = (): void => { cleanup(); reject(new Error(`ended after ${got} of ${n} bytes`)) }
    const cleanup = (): void => { s.off('readable', pull); s.off('end', onEnd); s.off('close', onEnd) }
    s.on('readable', pull)
    s.on('end', onEnd)
    s.on('close', onEnd)
    pull()
  }))
}
