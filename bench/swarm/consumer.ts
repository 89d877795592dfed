import { createHash } from 'node:crypto'
import { crc32 } from 'node:zlib'

/**
 * The process at the other end of `bt-stream > pipe`: reads stdin to the end, counting bytes and
 * checking them: with --hash a SHA-1 (the reader a player that verifies would be), otherwise a
 * CRC-32 (zlib's, ~6 GB/s: nearly free next to the download, still catching a wrong byte).
 * Prints "first" on stdout when the first byte arrives and a JSON line {"bytes": N, "sha1": "..."}
 * or {"bytes": N, "crc32": N} at the end, for the benchmark to timestamp on its clock.
 *
 *   node dist/bench/swarm/consumer.js [--hash] < stream
 */
const hash = process.argv.includes('--hash') ? createHash('sha1') : undefined
let crc = 0
let bytes = 0
process.stdin.on('data', (chunk: Buffer) => {
  if (bytes === 0) process.stdout.write('first\n')
  bytes += chunk.length
  if (hash !== undefined) hash.update(chunk)
  else crc = crc32(chunk, crc)
})
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify(hash !== undefined ? { bytes, sha1: hash.digest('hex') } : { bytes, crc32: crc }) + '\n')
})
process.stdin.on('error', (err) => {
  process.stderr.write(`consumer: ${err.message}\n`)
  process.exitCode = 1
})
