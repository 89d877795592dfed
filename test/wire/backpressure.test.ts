import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Writable } from 'streamx'
import { waitForHandshake } from '../../lib/wire/connect.js'
import { PeerConnection } from '../../lib/wire/peer-connection.js'
import { next, socketPair, within } from './helpers.js'

const INFO_HASH = new Uint8Array(20).fill(0x44)
const PIECES = 4096
const BLOCK = new Uint8Array(16384).fill(0x61)
/** 64 MiB: far more than loopback kernel buffers and our high-water marks together hold. */
const TOTAL = PIECES * BLOCK.length

async function until (what: string, cond: () => boolean): Promise<void> {
  await within(20_000, what, (async () => { while (!cond()) await new Promise(resolve => setTimeout(resolve, 5)) })())
}

test('backpressure: a slow consumer pauses the socket, the sender stalls, and all data flows once it reads', async () => {
  const sockets = await socketPair()
  const sender = new PeerConnection(sockets.a, { infoHash: INFO_HASH, pieceCount: PIECES })
  const receiver = new PeerConnection(sockets.b, { accept: () => true, pieceCount: PIECES, highWaterMark: 256 * 1024 })
  try {
    await within(5000, 'handshakes', Promise.all([waitForHandshake(sender), waitForHandshake(receiver)]))
    let refused = 0
    for (let i = 0; i < PIECES; i++) if (!sender.piece(i, 0, BLOCK)) refused++
    assert.ok(refused > 0, 'the sender\'s write() reports backpressure')
    const drained = Writable.drained(sender).then(() => true)

    // Nobody reads `receiver`: it must stop reading its socket ...
    await until('receiver pauses its socket', () => receiver.socketPaused && sockets.b.isPaused())
    // ... and once the kernel buffers are full, bytes stop arriving.
    let last = -1
    let steady = 0
    await until('bytes read stop growing', () => {
      steady = sockets.b.bytesRead === last ? steady + 1 : 0
      last = sockets.b.bytesRead
      return steady >= 10
    })
    assert.ok(sockets.b.bytesRead < TOTAL / 2, `read ${sockets.b.bytesRead} of ${TOTAL} bytes while nobody consumed`)
    assert.equal(sockets.a.writableNeedDrain, true, 'the sender\'s socket is full')
    assert.equal(await Promise.race([drained, Promise.resolve(false)]), false, 'the sender\'s writes have not all been accepted')

    // Now consume: every piece arrives, in order, and the sender's writes complete.
    for (let i = 0; i < PIECES; i++) {
      const m = await next(receiver)
      assert.ok(m.type === 'piece' && m.index === i && m.block.length === BLOCK.length, `piece ${i}`)
    }
    assert.equal(await within(10_000, 'sender drained', drained), true)
    assert.equal(receiver.downloaded, TOTAL)
  } finally {
    sender.destroy()
    receiver.destroy()
    await sockets.close()
  }
})
