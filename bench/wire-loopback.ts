import { createServer, connect as netConnect, type Socket } from 'node:net'
import type { Message } from '../lib/wire/messages.js'
import { waitForHandshake } from '../lib/wire/connect.js'
import { PeerConnection } from '../lib/wire/peer-connection.js'

/**
 * End to end: one PeerConnection sends 16 KiB piece messages to another over loopback TCP,
 * honouring backpressure (await 'drain'), while the other reads them as Messages. Both ends run
 * in this one process (one core), so this is a floor for a single peer, not a ceiling.
 */
const BLOCK = new Uint8Array(16 * 1024).fill(0x42)
const PIECES = 16384 // 256 MiB

export async function benchWireLoopback (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('no address')
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve))
  const a = netConnect({ host: '127.0.0.1', port: addr.port })
  const b = await accepted
  const infoHash = new Uint8Array(20).fill(1)
  const sender = new PeerConnection(a, { infoHash, pieceCount: PIECES })
  const receiver = new PeerConnection(b, { accept: () => true, pieceCount: PIECES })
  try {
    await Promise.all([waitForHandshake(sender), waitForHandshake(receiver)])
    const t0 = process.hrtime.bigint()
    const send = (async () => {
      for (let i = 0; i < PIECES; i++) {
        if (!sender.piece(i, 0, BLOCK)) await new Promise<void>((resolve) => sender.once('drain', () => resolve()))
      }
    })()
    let got = 0
    for await (const m of receiver as AsyncIterable<Message>) {
      if (m.type === 'piece' && ++got === PIECES) break
    }
    await send
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9
    return PIECES * BLOCK.length / (1024 * 1024) / seconds
  } finally {
    sender.destroy()
    receiver.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

export async function printWireLoopback (out: NodeJS.WritableStream): Promise<void> {
  const mib = await benchWireLoopback()
  out.write('wire loopback: PeerConnection → PeerConnection over 127.0.0.1, 256 MiB of 16 KiB pieces, one process\n')
  out.write(`  ${mib.toFixed(0)} MiB/s (${(mib / 1024).toFixed(2)} GiB/s) of block payload\n`)
}
