/**
 * Preloaded into the bt-stream CLI (`node --import first-byte-probe.js bin/bt-stream.js ...`) to
 * time issue 18's "first stdout byte after the first unchoke" without changing lib/: the CLI's
 * `--json` lines carry no unchoke, so this watches it from inside, through public surface only.
 *
 * - the first unchoke: Swarm.start() is wrapped to put a listener in front of the swarm's own on
 *   its pool's `connection` event; it wraps that peer's `attach` (WirePeer), so it sees each
 *   message just before the swarm does.
 * - the first stdout byte: process.stdout.write is wrapped; stdout to a file or a pipe is
 *   written synchronously on Linux, so when the first non-empty write returns its bytes are in
 *   the file (or the pipe).
 *
 * Then one line goes to stderr: `bench-probe {"unchokeMs": U, "stdoutMs": S}`, both in ms on the
 * process's own clock (performance.now(): from the process's start), so S - U needs no clock
 * shared with the benchmark. Wrapping costs a closure call per message: only the first-byte row
 * runs with it, never a throughput row.
 *
 * The swarm module is loaded from the dist/ next to the bt-stream being run (process.argv[1] is
 * its bin/bt-stream.js), so BENCH_BT_STREAM's build is the one patched; the benchmark sets
 * BT_STREAM_UNBUNDLED=1, since the bin otherwise runs the bundle (dist/lib/cli/bundle.js), whose
 * Swarm is its own copy.
 */
import { writeSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import type { Swarm, WirePeer } from '../../lib/index.js'
import type { Message } from '../../lib/wire/messages.js'
import { PROBE_TAG } from './probe-tag.js'

const bin = process.argv[1]
if (bin === undefined) throw new Error('first-byte-probe: no script in argv (preload it into bin/bt-stream.js)')
const swarmModule = new URL('../dist/lib/swarm/swarm.js', pathToFileURL(bin)).href
const { Swarm: SwarmClass } = await import(swarmModule) as { Swarm: typeof Swarm }

let unchokeMs: number | undefined
let stdoutMs: number | undefined

const start = SwarmClass.prototype.start
SwarmClass.prototype.start = function (this: Swarm): void {
  this.pool.prependListener('connection', (peer: WirePeer) => {
    const attach = peer.attach.bind(peer)
    peer.attach = (onMessage: (m: Message) => void, onClose: (err: Error | null) => void): void => {
      attach(m => {
        if (unchokeMs === undefined && m.type === 'unchoke') unchokeMs = performance.now()
        onMessage(m)
      }, onClose)
    }
  })
  start.call(this)
}

type Write = (this: NodeJS.WriteStream, ...args: unknown[]) => boolean
const stdout = process.stdout as unknown as { write: Write }
const write = stdout.write
stdout.write = function (this: NodeJS.WriteStream, ...args: unknown[]): boolean {
  const ok = write.apply(this, args)
  const chunk = args[0] as Uint8Array | string
  if (stdoutMs === undefined && chunk.length > 0) {
    stdoutMs = performance.now()
    stdout.write = write // once is enough: every later write goes straight through
    writeSync(2, `${PROBE_TAG}${JSON.stringify({ unchokeMs: unchokeMs ?? null, stdoutMs })}\n`)
  }
  return ok
}
