/**
 * Our side of each interop cell, always through the real CLI in a child process (what a user
 * runs): `bt-stream x.torrent --peer` to stdout or `-o DIR`, and `bt-stream seed`. Each is bounded
 * by the cell's timeout and ended by its PID.
 */
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compareFiles, type Fixture } from './fixtures.js'
import { start, waitLine, within, type Child } from './proc.js'

/** bin/bt-stream.js from dist/interop/ (where this file runs compiled). */
export const BT_STREAM = fileURLToPath(new URL('../../bin/bt-stream.js', import.meta.url))
/** `bt-stream seed` checks 8 MiB and listens well within this on a loaded machine. */
const SEED_READY_MS = 30_000

export interface Peer { readonly host: string, readonly port: number }

/** Options every download of ours gets: only the peer under test, nothing from outside loopback. */
function downloadArgs (fixture: Fixture, peer: Peer, timeoutMs: number): string[] {
  return [
    BT_STREAM, fixture.torrentPath,
    '--peer', `${peer.host}:${peer.port}`,
    '--no-trackers', '--no-dht', '--quiet',
    // Our own stall limit fires before the cell's timeout, so the failure carries our reason.
    '--stall-timeout', String(Math.max(5, Math.floor(timeoutMs / 2000)))
  ]
}

/**
 * Downloads to stdout: the torrent's bytes for a single file; for a multi-file torrent (stdout
 * takes one file, `--file`) each file in turn. Each stream's SHA-1 must be its file's.
 */
export async function downloadToStdout (fixture: Fixture, peer: Peer, timeoutMs: number): Promise<{ error?: string, log: string }> {
  const logs: string[] = []
  for (let i = 0; i < fixture.files.length; i++) {
    const f = fixture.files[i]
    if (f === undefined) continue
    const extra = fixture.multiFile ? ['--file', String(i)] : []
    const what = fixture.multiFile ? `${fixture.name}/${f.path} (--file ${i})` : fixture.name
    if (fixture.multiFile && fixture.meta.files[i]?.path !== `${fixture.name}/${f.path}`) {
      return { error: `file ${i} of the torrent is ${fixture.meta.files[i]?.path}, expected ${what}`, log: '' }
    }
    const r = await streamOne([...downloadArgs(fixture, peer, timeoutMs), ...extra], f.size, f.sha1, what, timeoutMs)
    logs.push(r.log)
    if (r.error !== undefined) return { error: r.error, log: logs.join('\n') }
  }
  return { log: logs.join('\n') }
}

async function streamOne (args: string[], size: number, sha1: string, what: string, timeoutMs: number): Promise<{ error?: string, log: string }> {
  const child = start(process.execPath, args, { stdoutIsData: true })
  const hash = createHash('sha1')
  let bytes = 0
  child.proc.stdout?.on('data', (chunk: Buffer) => { hash.update(chunk); bytes += chunk.length })
  try {
    const { code, signal } = await within(timeoutMs, `bt-stream download of ${what} to stdout`, child.exited)
    if (code !== 0) return { error: `bt-stream (${what} to stdout) exited ${signal ?? `with code ${code}`} after ${bytes} bytes: ${lastLine(child)}`, log: child.log.toString() }
    const got = hash.digest('hex')
    if (bytes !== size || got !== sha1) {
      return { error: `stdout (${what}): ${bytes} bytes with SHA-1 ${got}, expected ${size} with ${sha1}`, log: child.log.toString() }
    }
    return { log: child.log.toString() }
  } catch (err) {
    return { error: `${(err as Error).message} (${bytes} bytes written)`, log: child.log.toString() }
  } finally {
    await child.stop()
  }
}

/** Downloads with `-o` into `dir`; undefined when every file is byte-identical, else why not. */
export async function downloadToDir (fixture: Fixture, peer: Peer, dir: string, timeoutMs: number): Promise<{ error?: string, log: string }> {
  // -o names the file itself for a single-file torrent, the directory above the tree otherwise.
  const out = fixture.multiFile ? dir : join(dir, fixture.name)
  // With -o we also accept peers: on loopback only.
  const child = start(process.execPath, [...downloadArgs(fixture, peer, timeoutMs), '-o', out, '--host', '127.0.0.1'])
  try {
    const { code, signal } = await within(timeoutMs, 'bt-stream download -o', child.exited)
    if (code !== 0) return { error: `bt-stream -o exited ${signal ?? `with code ${code}`}: ${lastLine(child)}`, log: child.log.toString() }
    const diff = await compareFiles(fixture, dir)
    return diff === undefined ? { log: child.log.toString() } : { error: diff, log: child.log.toString() }
  } catch (err) {
    return { error: (err as Error).message, log: child.log.toString() }
  } finally {
    await child.stop()
  }
}

export interface OurSeed {
  readonly child: Child
  readonly port: number
  stop (): Promise<void>
}

/**
 * `bt-stream seed` on 127.0.0.1:`port`; resolves once it says it seeds. With `torrentPath` (a copy
 * of the fixture's torrent that names a tracker) it announces there, and dials what it lists.
 */
export async function startSeed (fixture: Fixture, port: number, torrentPath?: string): Promise<OurSeed> {
  // seed takes the file itself for a single-file torrent, the directory above the tree otherwise.
  const data = fixture.multiFile ? fixture.dataDir : join(fixture.dataDir, fixture.name)
  const args = [BT_STREAM, 'seed', torrentPath ?? fixture.torrentPath, data, '--port', String(port), '--host', '127.0.0.1', '--no-dht']
  if (torrentPath === undefined) args.push('--no-trackers')
  const child = start(process.execPath, args, { lines: 'stderr' })
  try {
    await waitLine(child, SEED_READY_MS, 'bt-stream seed', line => line.includes('seeding') ? true : undefined)
  } catch (err) {
    await child.stop()
    throw new Error(`${(err as Error).message}: ${child.log.toString().trim()}`)
  }
  return { child, port, stop: () => child.stop() }
}

function lastLine (child: Child): string {
  const lines = child.log.toString().trim().split('\n')
  return lines[lines.length - 1] ?? ''
}
