import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { type Children, deadline, watchLines } from './children.js'

/** The machine's ceilings that a download on it can be read against, all measured now. */
export interface Limits {
  sha1MiBps: number
  tcpMiBps: number
  tcpHashMiBps: number
  pipeMiBps: number
}

const SHA1_BYTES = 256 * 1024 * 1024
const SHA1_PIECE = 256 * 1024
const SHA1_ROUNDS = 3
const LOOPBACK_BYTES = 1024 * 1024 * 1024
const RUN_MS = 120_000
const MiB = 1024 * 1024

const PAIR = fileURLToPath(new URL('./loopback-pair.js', import.meta.url))
const CONSUMER = fileURLToPath(new URL('./consumer.js', import.meta.url))

/**
 * SHA-1 of 256 MiB in 256 KiB pieces, one digest each: what verifying every piece costs. The best
 * of SHA1_ROUNDS, as a shared 2-core machine has slow moments.
 */
export function sha1Rate (): number {
  const piece = Buffer.alloc(SHA1_PIECE, 0xa5)
  let best = 0
  for (let round = 0; round < SHA1_ROUNDS; round++) {
    const t0 = performance.now()
    for (let i = 0; i < SHA1_BYTES / SHA1_PIECE; i++) createHash('sha1').update(piece).digest()
    best = Math.max(best, SHA1_BYTES / MiB / ((performance.now() - t0) / 1000))
  }
  return best
}

/** 1 GiB over 127.0.0.1 TCP from one node process to another (optionally hashed on arrival). */
export async function tcpRate (children: Children, hash: boolean): Promise<number> {
  const recv = children.start(process.execPath, [PAIR, 'recv', ...(hash ? ['--hash'] : [])])
  const lines = watchLines(recv)
  try {
    const { port } = JSON.parse((await lines.when(l => l.includes('"port"'), 10_000)).text) as { port: number }
    children.start(process.execPath, [PAIR, 'send', String(port), String(LOOPBACK_BYTES)])
    const r = JSON.parse((await lines.when(l => l.includes('"bytes"'), RUN_MS)).text) as { bytes: number, seconds: number }
    if (r.bytes !== LOOPBACK_BYTES) throw new Error(`loopback: received ${r.bytes} of ${LOOPBACK_BYTES} bytes`)
    return r.bytes / MiB / r.seconds
  } finally {
    await recv.stop()
  }
}

/** 1 GiB through a pipe from one node process's stdout to the benchmark's consumer process. */
export async function pipeRate (children: Children): Promise<number> {
  const send = children.start(process.execPath, [PAIR, 'send', '-', String(LOOPBACK_BYTES)])
  const out = send.proc.stdout
  if (out === null) throw new Error('pipe: no stdout')
  const consumer = children.start(process.execPath, [CONSUMER], { stdio: [out, 'pipe', 'pipe'] })
  out.destroy() // the consumer has its own copy of the pipe's read end
  const lines = watchLines(consumer)
  try {
    const first = await deadline(lines.when(l => l === 'first', RUN_MS), RUN_MS, 'pipe')
    const end = await lines.when(l => l.startsWith('{'), RUN_MS)
    const { bytes } = JSON.parse(end.text) as { bytes: number }
    if (bytes !== LOOPBACK_BYTES) throw new Error(`pipe: received ${bytes} of ${LOOPBACK_BYTES} bytes`)
    return bytes / MiB / ((end.at - first.at) / 1000)
  } finally {
    await Promise.all([send.stop(), consumer.stop()])
  }
}

export async function measureLimits (children: Children): Promise<Limits> {
  return {
    sha1MiBps: sha1Rate(),
    tcpMiBps: await tcpRate(children, false),
    tcpHashMiBps: await tcpRate(children, true),
    pipeMiBps: await pipeRate(children)
  }
}
