/**
 * Byte sinks that may borrow piece memory: Node's own writables whose write callback means the
 * chunk is out (in the kernel, or written by a synchronous write) and that keep no reference to
 * it after that: a file (`fs.createWriteStream`), a socket or pipe (`net.Socket`), a terminal,
 * and the process's stdout/stderr (a file there is Node's internal SyncWriteStream). When a
 * download is piped straight into one of them, it can hand out views of its reused piece memory
 * instead of copies (no copy of each byte, and no copies for V8 to collect late), and take each
 * view's memory back once the sink's callback for it ran.
 *
 * Anything else (a Transform, a user's Writable, a subclass, an instance with its own `write`)
 * may keep a chunk forever, which a Node Readable allows: it gets copies.
 */
import { WriteStream } from 'node:fs'
import { Socket } from 'node:net'
import { WriteStream as TtyWriteStream } from 'node:tty'

/** The part of a Node Writable a streamx pipe uses. */
interface PipeTarget {
  write (chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean
}

const KNOWN = new Set<object>([WriteStream.prototype, Socket.prototype, TtyWriteStream.prototype])
/** Own properties that would replace what the class does with a chunk. */
const OVERRIDES = ['write', '_write', '_writev'] as const

/** Is `dest` a sink of the kind described above (its class exactly, nothing overridden)? */
export function isLendingSink (dest: unknown): boolean {
  if (typeof dest !== 'object' || dest === null) return false
  const known = dest === process.stdout || dest === process.stderr || KNOWN.has(Object.getPrototypeOf(dest) as object)
  return known && !OVERRIDES.some(name => Object.hasOwn(dest, name)) && typeof (dest as Partial<PipeTarget>).write === 'function'
}

/**
 * What to pipe into instead of `dest`: `dest` itself in every respect (its events, end, destroy),
 * except that each chunk written gives its bytes back, in order, once `dest`'s callback for it
 * ran without an error. A failed write gives nothing back: the bytes' memory stays out of reuse.
 */
export function lendingSink<T extends object> (dest: T, giveBack: (bytes: number) => void): T {
  const target = dest as T & PipeTarget
  const write = (chunk: Uint8Array): boolean => {
    const bytes = chunk.byteLength
    return target.write(chunk, err => { if (err === undefined || err === null) giveBack(bytes) })
  }
  return new Proxy(target, {
    get (t, name) {
      if (name === 'write') return write
      const value: unknown = Reflect.get(t, name, t)
      // Methods run on the real stream (its own fields, its own private state).
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(t) : value
    }
  })
}
