import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { EncryptedStream } from '../lib/crypto/encrypted-stream.js'
import { CRYPTO_PLAINTEXT, CRYPTO_RC4, selectMethod, skeyHash } from '../lib/crypto/mse-handshake.js'
import { RC4 } from '../lib/crypto/rc4.js'

/**
 * MSE/PE costs (issue 12), best of ROUNDS:
 * - RC4 in place over 16 KiB and 1 MiB buffers (our cipher; the byte-at-a-time loop it replaced;
 *   OpenSSL's RC4 through Node's legacy provider, in a child `node --openssl-legacy-provider`,
 *   the native reference we cannot use in the library).
 * - 256 MiB one way over loopback TCP: a plain socket, EncryptedStream with MSE's plaintext
 *   method (the wrapper's own cost), with RC4 (the wrapper plus the cipher, decrypted at the
 *   other end too).
 * - The MSE handshake over loopback (connect to both sides done), median of HANDSHAKES.
 * `node dist/bench/rc4.js` runs it alone; printRc4Bench() is what `npm run bench` calls.
 */
const ROUNDS = 5
const CIPHER_TOTAL = 256 * 1024 * 1024
const STREAM_TOTAL = 256 * 1024 * 1024
const WRITE = 64 * 1024
const HANDSHAKES = 50
const INFO_HASH = new Uint8Array(20).fill(0x42)

function best (bytes: number, run: () => void): number {
  let bestMs = Infinity
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint()
    run()
    bestMs = Math.min(bestMs, Number(process.hrtime.bigint() - t0) / 1e6)
  }
  return bytes / 1048576 / (bestMs / 1000)
}

/** The plain RC4 loop, one byte at a time: the baseline the word path is measured against. */
function byteLoop (key: Uint8Array): (buf: Uint8Array) => void {
  const s = new Uint8Array(256)
  for (let i = 0; i < 256; i++) s[i] = i
  let j = 0
  for (let i = 0; i < 256; i++) { j = (j + (s[i] as number) + (key[i % key.length] as number)) & 255; const t = s[i] as number; s[i] = s[j] as number; s[j] = t }
  let i = 0
  j = 0
  return (buf) => {
    for (let k = 0; k < buf.length; k++) {
      i = (i + 1) & 255; const si = s[i] as number; j = (j + si) & 255; const sj = s[j] as number
      s[i] = sj; s[j] = si; buf[k] = (buf[k] as number) ^ (s[(si + sj) & 255] as number)
    }
  }
}

function cipherRates (size: number): { ours: number, bytes: number } {
  const buf = randomBytes(size)
  const n = Math.max(1, Math.floor(CIPHER_TOTAL / size))
  const rc4 = new RC4(randomBytes(20), 1024)
  const loop = byteLoop(randomBytes(20))
  return {
    ours: best(n * size, () => { for (let k = 0; k < n; k++) rc4.update(buf) }),
    bytes: best(n * size, () => { for (let k = 0; k < n; k++) loop(buf) })
  }
}

/** OpenSSL's RC4 in a child with the legacy provider; undefined where it is not built in. */
function opensslRate (size: number): number | undefined {
  const n = Math.max(1, Math.floor(CIPHER_TOTAL / size))
  const src = `const c=require('crypto');const k=c.randomBytes(20);const ci=c.createCipheriv('rc4',k,null);const b=c.randomBytes(${size});let best=1e9;for(let r=0;r<${ROUNDS};r++){const t=process.hrtime.bigint();for(let i=0;i<${n};i++)ci.update(b);best=Math.min(best,Number(process.hrtime.bigint()-t)/1e6)}console.log(${n * size}/1048576/(best/1000))`
  try {
    return Number(execFileSync(process.execPath, ['--openssl-legacy-provider', '-e', src], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'ignore'] }))
  } catch { return undefined }
}

async function server (): Promise<{ server: Server, port: number, next: () => Promise<Socket> }> {
  const s = createServer()
  const waiting: Array<(sock: Socket) => void> = []
  s.on('connection', (sock) => { waiting.shift()?.(sock) })
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as { port: number }).port
  return { server: s, port, next: () => new Promise(resolve => waiting.push(resolve)) }
}

type Mode = 'socket' | 'mse-plaintext' | 'mse-rc4'

/** Both ends of one connection in `mode`, handshake done. */
async function pair (srv: Awaited<ReturnType<typeof server>>, mode: Mode): Promise<{ a: NodeJS.ReadWriteStream & { destroy: () => void }, b: NodeJS.ReadWriteStream & { destroy: () => void } }> {
  const accepted = srv.next()
  const sa = netConnect({ host: '127.0.0.1', port: srv.port })
  await new Promise<void>(resolve => sa.once('connect', () => resolve()))
  const sb = await accepted
  if (mode === 'socket') return { a: sa, b: sb }
  const req2 = Buffer.from(skeyHash(INFO_HASH)).toString('hex')
  const a = new EncryptedStream(sa, { role: 'initiator', infoHash: INFO_HASH, provide: mode === 'mse-rc4' ? CRYPTO_RC4 : CRYPTO_PLAINTEXT })
  const b = new EncryptedStream(sb, { role: 'responder', findSkey: (h) => Buffer.from(h).toString('hex') === req2 ? INFO_HASH : undefined, select: selectMethod(CRYPTO_RC4 | CRYPTO_PLAINTEXT) })
  await Promise.all([a, b].map(s => new Promise(resolve => s.once('mse', resolve))))
  return { a, b }
}

/** MiB/s of STREAM_TOTAL bytes written with backpressure on one side and read on the other. */
async function streamRate (srv: Awaited<ReturnType<typeof server>>, mode: Mode): Promise<number> {
  let bestMs = Infinity
  const chunk = randomBytes(WRITE)
  for (let r = 0; r < 3; r++) {
    const { a, b } = await pair(srv, mode)
    const t0 = process.hrtime.bigint()
    const received = new Promise<void>((resolve) => {
      let got = 0
      b.on('data', (c: Uint8Array) => { got += c.length; if (got >= STREAM_TOTAL) resolve() })
    })
    for (let sent = 0; sent < STREAM_TOTAL; sent += WRITE) {
      if (!a.write(chunk)) await new Promise(resolve => a.once('drain', resolve))
    }
    await received
    bestMs = Math.min(bestMs, Number(process.hrtime.bigint() - t0) / 1e6)
    a.destroy()
    b.destroy()
  }
  return STREAM_TOTAL / 1048576 / (bestMs / 1000)
}

async function handshakeMs (srv: Awaited<ReturnType<typeof server>>): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < HANDSHAKES; i++) {
    const t0 = process.hrtime.bigint()
    const { a, b } = await pair(srv, 'mse-rc4')
    times.push(Number(process.hrtime.bigint() - t0) / 1e6)
    a.destroy()
    b.destroy()
  }
  times.sort((x, y) => x - y)
  return times[Math.floor(times.length / 2)] as number
}

export async function printRc4Bench (out: NodeJS.WritableStream): Promise<void> {
  const f = (n: number | undefined): string => n === undefined ? 'n/a' : n.toFixed(0).padStart(6)
  out.write('\nMSE/PE (issue 12)\n')
  for (const size of [16 * 1024, 1024 * 1024]) {
    const r = cipherRates(size)
    out.write(`  RC4 over ${size / 1024} KiB buffers: ours ${f(r.ours)} MiB/s | byte loop ${f(r.bytes)} MiB/s | OpenSSL (legacy provider) ${f(opensslRate(size))} MiB/s\n`)
  }
  const srv = await server()
  try {
    for (const mode of ['socket', 'mse-plaintext', 'mse-rc4'] as const) {
      out.write(`  loopback TCP, ${STREAM_TOTAL / 1048576} MiB one way, ${mode.padEnd(13)}: ${f(await streamRate(srv, mode))} MiB/s\n`)
    }
    out.write(`  MSE handshake on loopback (connect to both ends done), median of ${HANDSHAKES}: ${(await handshakeMs(srv)).toFixed(2)} ms\n`)
  } finally {
    srv.server.close()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await printRc4Bench(process.stdout)
