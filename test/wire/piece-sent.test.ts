import assert from 'node:assert/strict'
import type { Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { test } from 'node:test'
import { EncryptedStream } from '../../lib/crypto/encrypted-stream.js'
import { CRYPTO_PLAINTEXT, CRYPTO_RC4 } from '../../lib/crypto/mse-handshake.js'
import { waitForHandshake } from '../../lib/wire/connect.js'
import type { Message } from '../../lib/wire/messages.js'
import { PeerConnection, writeCallbackFrees } from '../../lib/wire/peer-connection.js'
import { initiator, INFO_HASH, responder } from '../crypto/helpers.js'
import { socketPair, within } from './helpers.js'

/** Below a net.Socket's high-water mark (16 KiB, 64 KiB from Node 22): its write() says true while it still holds them. */
const BLOCK = 4000
/** 16 MB: more than loopback's socket buffers take while the peer does not read. */
const BLOCKS = 4096

/** Block i: its own buffer, bytes a function of i and the offset. */
function blockOf (i: number): Uint8Array {
  const b = new Uint8Array(BLOCK)
  for (let j = 0; j < BLOCK; j++) b[j] = (i * 7 + j) & 0xff
  return b
}

type Transport = 'tcp' | 'mse-plaintext' | 'mse-rc4'

async function pair (transport: Transport): Promise<{ ours: PeerConnection, theirs: PeerConnection, theirSocket: Socket, close: () => Promise<void> }> {
  const { a, b, close } = await socketPair()
  let ourStream: Duplex = b
  let theirStream: Duplex = a
  if (transport !== 'tcp') {
    const method = transport === 'mse-rc4' ? CRYPTO_RC4 : CRYPTO_PLAINTEXT
    theirStream = initiator(a, { provide: method })
    ourStream = responder(b, { select: () => method })
  }
  const theirs = new PeerConnection(theirStream, { infoHash: INFO_HASH, pieceCount: BLOCKS })
  const ours = new PeerConnection(ourStream, { accept: () => true, pieceCount: BLOCKS })
  theirs.on('error', () => {})
  ours.on('error', () => {})
  await Promise.all([waitForHandshake(theirs), waitForHandshake(ours)])
  return { ours, theirs, theirSocket: a, close: async () => { ours.destroy(); theirs.destroy(); await close() } }
}

for (const transport of ['tcp', 'mse-plaintext', 'mse-rc4'] as const) {
  test(`BEP 3 piece over ${transport}: piece()'s sent callback comes only once the socket holds the block no more: a block overwritten then still arrives exact`, async () => {
    const p = await pair(transport)
    try {
      assert.equal(writeCallbackFrees(p.ours.socket), true)
      const got: Array<Buffer | undefined> = []
      let pieces = 0
      const all = new Promise<void>((resolve) => {
        p.theirs.on('data', (d: unknown) => {
          const m = d as Message
          if (m.type !== 'piece') return
          got[m.index] = Buffer.from(m.block)
          if (++pieces === BLOCKS) resolve()
        })
      })
      // The peer stops reading: what the kernel does not take stays with us, and must stay intact.
      p.theirSocket.pause()
      let sent = 0
      for (let i = 0; i < BLOCKS; i++) {
        const block = blockOf(i)
        // What a reader that recycles its buffers does once told: the next chunk is read into it.
        p.ours.piece(i, 0, block, () => { sent++; block.fill(0xee) })
        // A few blocks per turn, as an Uploader writes them: each write is a small one below the
        // socket's high-water mark, made while the socket still holds earlier ones.
        if (i % 3 === 2) await new Promise(resolve => setImmediate(resolve))
      }
      for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve))
      assert.ok(sent < BLOCKS, `the peer reads nothing: ${sent} of ${BLOCKS} blocks reported sent`)
      p.theirSocket.resume()
      await within(60_000, 'every block received', all)
      for (let i = 0; i < BLOCKS; i++) assert.ok(got[i]?.equals(blockOf(i)), `block ${i} exact`)
      await within(10_000, 'every block reported sent', (async () => { while (sent < BLOCKS) await new Promise(resolve => setTimeout(resolve, 10)) })())
    } finally { await p.close() }
  })
}

test('piece()\'s sent callback is never called over a transport that cannot tell when it wrote the bytes (not a net.Socket)', async () => {
  const written: Uint8Array[] = []
  const duplex = new Duplex({ read () {}, write (chunk: Uint8Array, _enc, cb) { written.push(chunk); cb() } })
  assert.equal(writeCallbackFrees(duplex), false)
  const enc = new EncryptedStream(duplex, { role: 'initiator', infoHash: INFO_HASH, provide: CRYPTO_PLAINTEXT })
  enc.on('error', () => {})
  assert.equal(writeCallbackFrees(enc), false)
  enc.destroy()
})

for (const transport of ['mse-plaintext', 'mse-rc4'] as const) {
  test(`BEP 3 piece over ${transport}: ${transport === 'mse-plaintext' ? 'once MSE settled on plaintext, blocks go to the socket straight, past the EncryptedStream' : 'RC4 blocks pass through the EncryptedStream'}; a peer that does not read still stops our writes (backpressure counts the socket's queue)`, async () => {
    const p = await pair(transport)
    try {
      const enc = p.ours.socket as EncryptedStream
      let throughEnc = 0
      const writev = enc._writev.bind(enc)
      enc._writev = (items, cb) => { throughEnc += items.length; writev(items, cb) }
      const got = new Promise<number>((resolve) => {
        let n = 0
        p.theirs.on('data', (d: unknown) => { if ((d as Message).type === 'piece' && ++n === 8) resolve(n) })
      })
      for (let i = 0; i < 8; i++) p.ours.piece(i, 0, blockOf(i))
      assert.equal(await within(10_000, 'eight pieces', got), 8)
      if (transport === 'mse-plaintext') assert.equal(throughEnc, 0, 'nothing written through the EncryptedStream')
      else assert.ok(throughEnc > 0, 'RC4: every byte is encrypted by the EncryptedStream')

      p.theirSocket.pause()
      let ok = true
      let written = 0
      // 16 MB at most: far past what loopback's buffers take while the peer reads nothing.
      while (ok && written < BLOCKS) {
        ok = p.ours.piece(written, 0, blockOf(written))
        written++
        if (written % 16 === 0) await new Promise(resolve => setImmediate(resolve))
      }
      assert.equal(ok, false, `write() said stop before ${BLOCKS} blocks (${written} written)`)
      assert.ok(p.ours.writableBufferedBytes >= enc.socket.writableLength, 'the socket\'s own queue is counted')
      assert.ok(p.ours.writableBufferedBytes > 0)
    } finally { await p.close() }
  })
}
