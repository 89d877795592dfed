/**
 * RC4 off the main thread. An encrypted connection's incoming bytes are most of what an
 * encryption-only swarm costs: profiled on loopback (4 libtorrent seeders requiring MSE/PE),
 * RC4 was 43% of the main thread's time, the thread that also reads every socket and assembles
 * every block. One thread decrypts for every connection of the process, the process's helper
 * thread (lib/util/helper-thread.ts), which also hashes pieces: a second thread would be a second
 * V8 isolate (~8.5 MiB). Each connection's keystream moves there after its handshake, and its
 * chunks go there and back (transferred, in order: one thread and one port keep the order of
 * each connection's chunks).
 *
 * Encryption stays on the main thread: what we send is requests (17 bytes each) while we
 * download, and a copy is needed anyway because a block we send may be shared.
 *
 * The decrypting side holds the thread from the first connection that needs it until no
 * connection has used it for IDLE_MS (the hashers may hold it longer). It never keeps the process
 * alive but while chunks are there. If it cannot start, or dies, the connections that had chunks
 * there fail (their bytes are gone) and later ones decrypt on the main thread as before.
 */
import { RC4 } from './rc4.js'
import { helperThread, type HelperClient } from '../util/helper-thread.js'
import type { HelperReply } from '../util/helper-worker.js'
import { ownsItsMemory } from '../util/transferable.js'
import type { DecryptRequest } from './decrypt-worker.js'
import { copyBytes } from '../util/copy-bytes.js'

/** An idle thread is ended after this long (a swarm between connections keeps it). */
const IDLE_MS = 5000

export type Decrypted = (err: Error | null, plain?: Uint8Array) => void

/** One connection's incoming keystream: on the thread when it runs, else here. */
export interface Decryptor {
  /** Decrypts `chunk` (which becomes the decryptor's: do not read or write it again). */
  decrypt (chunk: Uint8Array, done: Decrypted): void
  /** Chunks given and not yet returned. */
  readonly pending: number
  close (): void
}

class ThreadDecryptor implements Decryptor {
  readonly queue: Decrypted[] = []
  closed = false
  /**
   * The keystream, here until the thread runs: booting it takes 30 to 100 ms, and the first
   * bytes after the handshake (the peer's bitfield, the first blocks) should not wait for that.
   */
  private rc4: RC4 | undefined

  constructor (readonly thread: DecryptThread, readonly id: number, rc4: RC4) {
    this.rc4 = rc4
  }

  get pending (): number { return this.queue.length }

  decrypt (chunk: Uint8Array, done: Decrypted): void {
    if (this.closed) { done(new Error('decryptor closed')); return }
    const rc4 = this.rc4
    if (rc4 !== undefined) {
      if (!this.thread.online) { rc4.update(chunk); done(null, chunk); return }
      // Nothing is at the thread yet, so the keystream moves there exactly where it stands.
      this.rc4 = undefined
      this.thread.post({ op: 'open', id: this.id, state: rc4.state() })
    }
    // Only a buffer that is the whole of its memory can move to the thread: Node's socket chunks
    // are (measured), a view into something larger (uTP, the handshake's leftover) is copied.
    const buffer = ownsItsMemory(chunk) ? chunk.buffer : copyBytes(chunk).buffer
    this.queue.push(done)
    this.thread.sent()
    this.thread.post({ op: 'data', id: this.id, buffer }, [buffer])
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.thread.returned(this.queue.length)
    this.queue.length = 0
    this.thread.release(this)
  }
}

/** The main thread's RC4: what runs when the thread cannot. */
class InlineDecryptor implements Decryptor {
  readonly pending = 0
  constructor (private readonly rc4: RC4) {}
  decrypt (chunk: Uint8Array, done: Decrypted): void {
    this.rc4.update(chunk)
    done(null, chunk)
  }

  close (): void {}
}

/** The decrypting side of the helper thread: the connections whose keystream is there. */
class DecryptThread implements HelperClient {
  readonly kind = 'decrypt'
  /** The helper thread is ours (acquired): from the first connection until IDLE_MS after the last. */
  private holding = false
  private nextId = 0
  private readonly open = new Map<number, ThreadDecryptor>()
  private idleTimer: ReturnType<typeof setTimeout> | undefined
  /** Chunks at the thread, all connections: while any is, the thread keeps the process alive. */
  private inFlight = 0

  /** The thread runs: keystreams move there from their first chunk after this. */
  get online (): boolean { return this.holding && helperThread.online }

  decryptor (rc4: RC4): Decryptor {
    if (!this.holding) {
      helperThread.acquire(this)
      this.holding = true
    }
    if (helperThread.failed) return new InlineDecryptor(rc4)
    if (this.idleTimer !== undefined) { clearTimeout(this.idleTimer); this.idleTimer = undefined }
    const d = new ThreadDecryptor(this, this.nextId++, rc4)
    this.open.set(d.id, d)
    return d
  }

  post (m: DecryptRequest, transfer: ArrayBuffer[] = []): void {
    helperThread.post({ kind: 'decrypt', ...m }, transfer)
  }

  /**
   * A chunk went to the thread. Its bytes may be the last a reader waits for after the socket
   * closed, so the process must not end before they come back: the thread is ref'd meanwhile.
   */
  sent (): void {
    this.inFlight++
    helperThread.ref()
  }

  /** `n` chunks came back or were given up on. */
  returned (n: number): void {
    if (n <= 0) return
    const back = Math.min(n, this.inFlight)
    this.inFlight -= back
    helperThread.unref(back)
  }

  release (d: ThreadDecryptor): void {
    if (this.open.get(d.id) !== d) return
    this.open.delete(d.id)
    this.post({ op: 'close', id: d.id })
    if (this.open.size === 0 && this.holding) {
      if (this.idleTimer !== undefined) clearTimeout(this.idleTimer)
      this.idleTimer = setTimeout(() => {
        this.idleTimer = undefined
        if (this.open.size > 0 || !this.holding) return
        this.holding = false
        this.inFlight = 0
        helperThread.release(this)
      }, IDLE_MS)
      this.idleTimer.unref()
    }
  }

  onReply (r: HelperReply): void {
    if (r.kind !== 'decrypt') return
    const d = this.open.get(r.id)
    const done = d?.queue.shift()
    if (done === undefined) return
    this.returned(1)
    done(null, Buffer.from(r.buffer))
  }

  /** The thread died: the chunks there are gone, so are their connections. */
  onFail (err: Error): void {
    this.inFlight = 0
    const open = [...this.open.values()]
    this.open.clear()
    for (const d of open) {
      d.closed = true
      const waiting = d.queue.splice(0)
      for (const done of waiting) done(err)
    }
  }
}

let shared: DecryptThread | undefined

/**
 * A decryptor that goes on from `rc4`'s keystream (which must not be used again). `offThread`
 * false keeps it on the main thread.
 */
export function decryptorFor (rc4: RC4, offThread = true): Decryptor {
  if (!offThread) return new InlineDecryptor(rc4)
  shared ??= new DecryptThread()
  return shared.decryptor(rc4)
}
