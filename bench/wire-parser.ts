import { createHash } from 'node:crypto'
import { encodeMessage } from '../lib/wire/encoder.js'
import { WireParser } from '../lib/wire/parser.js'

/**
 * Parser throughput on 16 KiB piece messages fed as 64 KiB socket reads (so about one message in
 * four straddles two reads and is copied), next to this machine's memcpy and SHA-1 speed
 * measured in the same run, so the number can be judged against the hardware.
 */
const BLOCK = 16 * 1024
const READ = 64 * 1024
const TOTAL = 256 * 1024 * 1024
const ROUNDS = 5

function wireBytes (): { bytes: Uint8Array, messages: number } {
  const block = new Uint8Array(BLOCK).fill(0x5a)
  const frameLength = 13 + BLOCK
  const messages = Math.floor(TOTAL / frameLength)
  const bytes = new Uint8Array(messages * frameLength)
  for (let i = 0; i < messages; i++) {
    const e = encodeMessage({ type: 'piece', index: i % 1000, begin: 0, block })
    bytes.set(e.head, i * frameLength)
    bytes.set(block, i * frameLength + 13)
  }
  return { bytes, messages }
}

function chunks (bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let off = 0; off < bytes.length; off += READ) out.push(bytes.subarray(off, Math.min(off + READ, bytes.length)))
  return out
}

/** Best of ROUNDS, in MiB/s. */
function best (bytes: number, run: () => void): number {
  let bestMs = Infinity
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint()
    run()
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    bestMs = Math.min(bestMs, ms)
  }
  return bytes / (1024 * 1024) / (bestMs / 1000)
}

export function benchWireParser (): Record<string, number> {
  const { bytes, messages } = wireBytes()
  const reads = chunks(bytes)
  let seen = 0
  let blockBytes = 0
  const parser = (): WireParser => new WireParser({
    message: (m) => { seen++; if (m.type === 'piece') blockBytes += m.block.length },
    error: (e) => { throw e }
  }, { pieceCount: 1000, handshake: false })
  const parse = best(bytes.length, () => {
    const p = parser()
    for (const c of reads) p.write(c)
  })
  if (seen !== messages * ROUNDS || blockBytes !== messages * ROUNDS * BLOCK) throw new Error(`parser saw ${seen} messages, expected ${messages * ROUNDS}`)

  const target = new Uint8Array(READ)
  const memcpy = best(bytes.length, () => {
    for (const c of reads) target.set(c)
  })

  const sha1 = best(bytes.length, () => {
    const PIECE = 256 * 1024
    for (let off = 0; off < bytes.length; off += PIECE) createHash('sha1').update(bytes.subarray(off, off + PIECE)).digest()
  })
  return { parse, memcpy, sha1 }
}

export function printWireParser (out: NodeJS.WritableStream): void {
  const r = benchWireParser()
  const gib = (mib: number): string => `${(mib / 1024).toFixed(2)} GiB/s`
  out.write('wire parser: 16 KiB piece messages in 64 KiB reads, one core, best of 5 over 256 MiB\n')
  out.write(`  parser   ${r.parse?.toFixed(0)} MiB/s (${gib(r.parse ?? 0)})  target >= 2 GiB/s\n`)
  out.write(`  memcpy   ${r.memcpy?.toFixed(0)} MiB/s (${gib(r.memcpy ?? 0)})  Uint8Array.set of each read\n`)
  out.write(`  sha1     ${r.sha1?.toFixed(0)} MiB/s (${gib(r.sha1 ?? 0)})  node:crypto, 256 KiB pieces\n`)
}
