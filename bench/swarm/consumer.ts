import { createHash } from 'node:crypto'

/**
 * The process at the other end of `bt-stream > pipe`: reads stdin to the end, counting bytes
 * (and hashing them with --hash). Prints "first" on stdout when the first byte arrives and a JSON
 * line {"bytes": N, "sha1": "..."} at the end, for the benchmark to timestamp on its clock.
 *
 *   node dist/bench/swarm/consumer.js [--hash] < stream
 */
const hash = process.argv.includes('--hash') ? createHash('sha1') : undefined
let bytes = 0
process.stdin.on('data', (chunk: Buffer) => {
  if (bytes === 0) process.stdout.write('first\n')
  bytes += chunk.length
  hash?.update(chunk)
})
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify({ bytes, sha1: hash?.digest('hex') }) + '\n')
})
process.stdin.on('error', (err) => {
  process.stderr.write(`consumer: ${err.message}\n`)
  process.exitCode = 1
})
