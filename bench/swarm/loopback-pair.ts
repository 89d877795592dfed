import { createHash } from 'node:crypto'
import { connect, createServer } from 'node:net'

/**
 * The two ends of the machine-limit measurements, each run as its own process (as bt-stream and
 * its seeders are):
 *
 *   node loopback-pair.js recv [--hash]   listens on 127.0.0.1:0, prints {"port": N}, then reads
 *                                         one connection to its end and prints {"bytes", "seconds"}
 *   node loopback-pair.js send PORT BYTES writes BYTES to 127.0.0.1:PORT (PORT "-": to stdout)
 */
const BLOCK = 1024 * 1024
const TIMEOUT_MS = 120_000

const [role, a1, a2] = process.argv.slice(2)
setTimeout(() => { process.stderr.write('loopback-pair: timed out\n'); process.exit(1) }, TIMEOUT_MS).unref()

if (role === 'recv') {
  const hash = process.argv.includes('--hash') ? createHash('sha1') : undefined
  const server = createServer(socket => {
    server.close()
    let bytes = 0
    let t0 = 0
    socket.on('data', (chunk: Buffer) => {
      if (bytes === 0) t0 = performance.now()
      bytes += chunk.length
      hash?.update(chunk)
    })
    socket.on('end', () => {
      hash?.digest()
      process.stdout.write(JSON.stringify({ bytes, seconds: (performance.now() - t0) / 1000 }) + '\n')
    })
    socket.on('error', err => { process.stderr.write(`recv: ${err.message}\n`); process.exitCode = 1 })
  })
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: (server.address() as { port: number }).port }) + '\n')
  })
} else if (role === 'send' && a1 !== undefined && a2 !== undefined) {
  const out = a1 === '-' ? process.stdout : connect({ host: '127.0.0.1', port: Number(a1) })
  const block = Buffer.alloc(BLOCK, 0x5a)
  let left = Number(a2)
  const write = (): void => {
    while (left > 0) {
      const n = Math.min(BLOCK, left)
      left -= n
      if (!out.write(n === BLOCK ? block : block.subarray(0, n))) { out.once('drain', write); return }
    }
    out.end()
  }
  out.on('error', err => { process.stderr.write(`send: ${err.message}\n`); process.exitCode = 1 })
  write()
} else {
  process.stderr.write('usage: loopback-pair.js recv [--hash] | send PORT|- BYTES\n')
  process.exitCode = 2
}
