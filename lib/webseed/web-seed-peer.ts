/**
 * A BEP 19 web seed as the swarm sees a peer (a `WirePeer`): it has everything (`haveAll`),
 * unchokes at once, and answers the swarm's 16 KiB `request`s with HTTP range requests. The
 * engine, its picker, its SHA-1 checks and its bans stay as they are for peers.
 *
 * Backpressure and memory: requests queue here as small records (at most the swarm's queue depth,
 * our `reqq`). Consecutive ones are coalesced into runs of at most MAX_RUN_BYTES, each fetched by
 * one of LANES concurrent HTTP requests (one per file slice the run covers, in order). Body bytes
 * are cut into blocks and handed to the swarm as `piece` messages as they arrive; the swarm copies
 * each into its piece synchronously, so what is held here is at most one partial block per lane.
 * Bytes past the range asked for are never read.
 *
 * Trouble (lib/webseed/http-range.ts sorts it): a fatal answer drops the seed (destroy: the swarm
 * releases its requests); a busy one (503 + Retry-After) chokes us for that long, which releases
 * every request (our `fast` is false) and lets peers take them; a transient one (5xx, reset, cut
 * body, timeout) gives back the blocks of that run (`reject`), and after MAX_FAILURES in a row
 * chokes for a backoff that grows; MAX_BACKOFFS backoffs in a row without a good run drop it.
 */
import { createHash } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import type { ExtensionPeer } from '../extensions/extension-ids.js'
import type { Metainfo } from '../metainfo/types.js'
import { filesInRange } from '../metainfo/geometry.js'
import { BLOCK_LENGTH } from '../pieces/active-piece.js'
import { BlockCutter, type Block } from './block-cutter.js'
import { BitField } from '../wire/bitfield.js'
import type { WirePeer } from '../swarm/types.js'
import type { Message } from '../wire/messages.js'
import { fetchRange, WebSeedError, type Agents } from './http-range.js'
import { fileUrl } from './url.js'

/**
 * Blocks the swarm may queue with one web seed: 1024 × 16 KiB = 16 MiB. The swarm sizes a peer's
 * queue to 2 s of its rate, capped by reqq; HTTP wants long ranges in flight, and a window smaller
 * than this (stdout's default is 16 MiB) bounds it anyway.
 */
export const WEB_SEED_REQQ = 1024
/** Concurrent HTTP requests per web seed: one streams while the next one's headers are on their way. */
const LANES = 4
/** One HTTP request covers at most this much (BEP 19: few, long requests; not one per block). */
const MAX_RUN_BYTES = 4 * 1024 * 1024
/**
 * While another request is running, wait until this much is queued before starting one: the
 * swarm tops queues up in small batches, which would otherwise become small requests.
 */
const MIN_RUN_BYTES = 1024 * 1024
/** No byte (headers or body) for this long: the request is cut and counts as a failure. */
const IDLE_TIMEOUT_MS = 20_000
/** Transient failures in a row before we back off; backoffs in a row before the seed is dropped. */
const MAX_FAILURES = 3
const MAX_BACKOFFS = 4
/** First backoff; each next one is 4 times longer (2 s, 8 s, 32 s, 128 s). */
const BACKOFF_BASE_MS = 2000
/** A Retry-After longer than this drops the seed: the download will not wait that long for it. */
const MAX_RETRY_AFTER_MS = 10 * 60_000

export interface WebSeedPeerOptions {
  /** The url-list entry (BEP 19). */
  readonly url: string
  readonly meta: Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'length' | 'lastPieceLength' | 'pieceHashes' | 'files' | 'multiFile'>
  /** TLS options for https web seeds (a test's own CA). */
  readonly tls?: https.AgentOptions
  /** For tests: the idle timeout and the first backoff. */
  readonly idleTimeoutMs?: number
  readonly backoffBaseMs?: number
  /** What happens to the seed: busy, failing, back; `closed` once, with the reason it ended. */
  readonly onStatus?: (s: WebSeedStatus) => void
  /**
   * Files this server does not have (it answered 404 for them before): we announce a bitfield
   * without the pieces that touch them instead of have-all, so the swarm never asks us for those.
   */
  readonly missingFiles?: ReadonlySet<number>
}

export type WebSeedStatus =
  | { readonly kind: 'busy', readonly reason: string, readonly retryInMs: number }
  | { readonly kind: 'failure', readonly reason: string }
  | { readonly kind: 'resumed' }
  /** `missingFile`: it ended because that file is not on the server (404/410). */
  | { readonly kind: 'closed', readonly reason: string | undefined, readonly missingFile?: number }

/** A run of consecutive blocks, fetched by one lane. */
interface Run {
  readonly start: number
  readonly end: number
  /** Its body bytes, cut into its blocks. */
  readonly cutter: BlockCutter
  readonly abort: AbortController
  /** Stopped by us (cancel, choke, destroy): its failure is not the server's. */
  stopped: boolean
}

export class WebSeedPeer implements WirePeer {
  readonly peerId: Uint8Array
  readonly fast = false
  readonly reqq = WEB_SEED_REQQ
  readonly url: string
  readonly extensionPeer: ExtensionPeer
  private readonly opts: WebSeedPeerOptions
  private readonly agents: Agents
  private readonly queued: Block[] = []
  private readonly byKey = new Map<number, Block>()
  private readonly running = new Set<Run>()
  /** The URL each file answered from last (after redirects). */
  private readonly fileUrls = new Map<number, string>()
  private onMessage: ((m: Message) => void) | undefined
  private onClose: ((err: Error | null) => void) | undefined
  private scheduled = false
  private choked = false
  private chokeTimer: NodeJS.Timeout | undefined
  private failures = 0
  private backoffs = 0
  private destroyed = false
  private closeReason: Error | null = null

  constructor (opts: WebSeedPeerOptions) {
    this.opts = opts
    this.url = opts.url
    // A stable id per URL: the swarm keys peers by id, and two web seeds must never collide.
    this.peerId = createHash('sha1').update(`bt-stream web seed ${opts.url}`).digest()
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: LANES }),
      https: new https.Agent({ keepAlive: true, maxSockets: LANES, ...opts.tls })
    }
    const self = this
    this.extensionPeer = {
      peerExtendedHandshake: undefined,
      extended: () => false,
      get destroyed () { return self.destroyed }
    }
  }

  /** From now on our messages go to the swarm: we have everything and unchoke it at once. */
  attach (onMessage: (m: Message) => void, onClose: (err: Error | null) => void): void {
    this.onMessage = onMessage
    this.onClose = onClose
    if (this.destroyed) { queueMicrotask(() => onClose(this.closeReason)); return }
    queueMicrotask(() => {
      const missing = this.opts.missingFiles
      this.emit(missing === undefined || missing.size === 0 ? { type: 'haveAll' } : { type: 'bitfield', bitfield: piecesWithout(this.opts.meta, missing) })
      this.emit({ type: 'unchoke' })
    })
  }

  interested (): void {}
  notInterested (): void {}
  backlogged (): boolean { return false }

  request (index: number, begin: number, length: number): void {
    if (this.destroyed || this.choked) return
    const { pieceLength } = this.opts.meta
    const offset = index * pieceLength + begin
    if (index < 0 || index >= this.opts.meta.pieceCount || begin < 0 || length <= 0 || length > BLOCK_LENGTH || offset + length > this.opts.meta.length) return
    if (this.byKey.has(offset)) return
    const b: Block = { index, begin, length, offset, state: 'queued' }
    this.byKey.set(offset, b)
    this.queued.push(b)
    this.schedule()
  }

  cancel (index: number, begin: number): void {
    const offset = index * this.opts.meta.pieceLength + begin
    const b = this.byKey.get(offset)
    if (b === undefined) return
    this.byKey.delete(offset)
    if (b.state === 'queued') this.queued.splice(this.queued.indexOf(b), 1)
    b.state = 'cancelled'
    // A run whose blocks are all cancelled is not worth its bytes.
    for (const run of this.running) {
      if (run.cutter.blocks.includes(b) && run.cutter.rest().every(x => x.state !== 'running')) this.stopRun(run)
    }
  }

  destroy (err?: Error): void {
    if (this.destroyed) return
    this.destroyed = true
    this.closeReason = err ?? null
    clearTimeout(this.chokeTimer)
    for (const run of this.running) this.stopRun(run)
    this.queued.length = 0
    this.byKey.clear()
    this.agents.http.destroy()
    this.agents.https.destroy()
    const missingFile = err instanceof WebSeedError && err.kind === 'missing' ? err.fileIndex : undefined
    this.opts.onStatus?.({ kind: 'closed', reason: err?.message, ...(missingFile === undefined ? {} : { missingFile }) })
    // Like a socket's 'close': after the caller's stack, never inside it.
    const onClose = this.onClose
    if (onClose !== undefined) queueMicrotask(() => onClose(this.closeReason))
  }

  private emit (m: Message): void {
    if (!this.destroyed) this.onMessage?.(m)
  }

  private schedule (): void {
    if (this.scheduled) return
    this.scheduled = true
    // The swarm asks in bursts within one call: coalesce the whole burst before starting runs.
    queueMicrotask(() => { this.scheduled = false; this.dispatch() })
  }

  private dispatch (): void {
    while (!this.destroyed && !this.choked && this.running.size < LANES && this.queued.length > 0) {
      const run = this.takeRun()
      if (run === undefined) return
      this.running.add(run)
      this.fetchRun(run).then(() => this.runDone(run), (err: unknown) => this.runFailed(run, err))
    }
  }

  /** The lowest queued blocks that follow one another, up to MAX_RUN_BYTES. */
  private takeRun (): Run | undefined {
    let queuedBytes = 0
    for (const b of this.queued) queuedBytes += b.length
    if (this.running.size > 0 && queuedBytes < MIN_RUN_BYTES) return undefined
    this.queued.sort((a, b) => a.offset - b.offset)
    const blocks: Block[] = []
    const start = this.queued[0]!.offset
    let end = start
    let n = 0
    while (n < this.queued.length) {
      const b = this.queued[n]!
      if (b.offset !== end || (blocks.length > 0 && b.offset + b.length - start > MAX_RUN_BYTES)) break
      blocks.push(b)
      b.state = 'running'
      end = b.offset + b.length
      n++
    }
    this.queued.splice(0, n)
    return { start, end, cutter: new BlockCutter(blocks, (b, data) => { this.deliver(b, data) }), abort: new AbortController(), stopped: false }
  }

  /** One HTTP request per file slice of the run, in order; padding files (BEP 47) are zeros. */
  private async fetchRun (run: Run): Promise<void> {
    const { meta } = this.opts
    for (const slice of filesInRange(meta, run.start, run.end)) {
      if (run.stopped) return
      const file = meta.files[slice.fileIndex]!
      if (file.padding) { run.cutter.feed(Buffer.alloc(slice.length), () => run.stopped); continue }
      const url = this.fileUrls.get(slice.fileIndex) ?? fileUrl(this.url, meta, file)
      await this.fetchSlice(run, slice.fileIndex, { url, start: slice.fileOffset, end: slice.fileOffset + slice.length, fileLength: file.length })
    }
  }

  private async fetchSlice (run: Run, fileIndex: number, r: { url: string, start: number, end: number, fileLength: number }): Promise<void> {
    const idleMs = this.opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS
    const timer = setTimeout(() => run.abort.abort(new WebSeedError(`no answer for ${idleMs < 1000 ? `${idleMs} ms` : `${Math.round(idleMs / 1000)} s`}`, 'transient')), idleMs)
    try {
      const url = await fetchRange(r, this.agents, run.abort.signal, chunk => {
        timer.refresh()
        run.cutter.feed(chunk, () => run.stopped)
      })
      this.fileUrls.set(fileIndex, url)
    } catch (err) {
      // The next try of this file starts from the URL the torrent names, not a redirect's target.
      this.fileUrls.delete(fileIndex)
      if (err instanceof WebSeedError && err.kind === 'missing') err.fileIndex = fileIndex
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  private deliver (b: Block, data: Uint8Array): void {
    if (b.state === 'cancelled') return
    this.byKey.delete(b.offset)
    b.state = 'done'
    this.emit({ type: 'piece', index: b.index, begin: b.begin, block: data })
  }

  private stopRun (run: Run): void {
    if (run.stopped) return
    run.stopped = true
    run.abort.abort(new Error('stopped'))
  }

  private runDone (run: Run): void {
    this.running.delete(run)
    if (!run.stopped) {
      this.failures = 0
      this.backoffs = 0
    }
    this.dispatch()
  }

  private runFailed (run: Run, err: unknown): void {
    this.running.delete(run)
    if (this.destroyed) return
    if (run.stopped) { this.dispatch(); return }
    // An abort of ours (the idle timeout) carries the reason; the request only saw "aborted".
    const cause: unknown = run.abort.signal.aborted ? run.abort.signal.reason : err
    const e = cause instanceof WebSeedError ? cause : new WebSeedError(cause instanceof Error ? cause.message : String(cause), 'transient', undefined, { cause })
    // A missing file ends this peer: the seed comes back without that file's pieces (web-seeds.ts),
    // since a peer that announced a piece cannot take it back.
    if (e.kind === 'fatal' || e.kind === 'missing') { this.destroy(e); return }
    if (e.kind === 'busy') {
      const wait = e.retryAfterMs ?? 0
      if (wait > MAX_RETRY_AFTER_MS) { this.destroy(new WebSeedError(`${e.message}: longer than we wait`, 'fatal')); return }
      this.pause(wait, e.message)
      return
    }
    this.opts.onStatus?.({ kind: 'failure', reason: e.message })
    if (++this.failures < MAX_FAILURES) {
      // Give the rest of this run back: the swarm asks again, of us or of a peer.
      this.reject(run)
      this.dispatch()
      return
    }
    this.failures = 0
    if (++this.backoffs > MAX_BACKOFFS) { this.destroy(new WebSeedError(`failed ${MAX_FAILURES * (MAX_BACKOFFS + 1)} times in a row, last: ${e.message}`, 'fatal')); return }
    this.pause((this.opts.backoffBaseMs ?? BACKOFF_BASE_MS) * 4 ** (this.backoffs - 1), e.message)
  }

  /** The run's blocks not delivered go back to the swarm (BEP 6 reject, which the swarm honours from anyone). */
  private reject (run: Run): void {
    for (const b of run.cutter.rest()) {
      if (b.state !== 'running') continue
      b.state = 'cancelled'
      this.byKey.delete(b.offset)
      this.emit({ type: 'reject', index: b.index, begin: b.begin, length: b.length })
    }
  }

  /**
   * Busy or failing: choke the swarm for `ms`. Without BEP 6 a choke releases every request we
   * hold, so peers take them at once; the unchoke brings new ones.
   */
  private pause (ms: number, reason: string): void {
    this.choked = true
    for (const r of this.running) this.stopRun(r)
    for (const b of this.queued) b.state = 'cancelled'
    this.queued.length = 0
    this.byKey.clear()
    this.opts.onStatus?.({ kind: 'busy', reason, retryInMs: ms })
    this.emit({ type: 'choke' })
    this.chokeTimer = setTimeout(() => {
      this.chokeTimer = undefined
      this.choked = false
      this.opts.onStatus?.({ kind: 'resumed' })
      this.emit({ type: 'unchoke' })
    }, ms)
  }
}

/** The pieces none of whose bytes lie in a missing file, as a BEP 3 bitfield. */
function piecesWithout (meta: WebSeedPeerOptions['meta'], missing: ReadonlySet<number>): Uint8Array {
  const have = new BitField(meta.pieceCount)
  for (let i = 0; i < meta.pieceCount; i++) {
    const start = i * meta.pieceLength
    const end = i === meta.pieceCount - 1 ? meta.length : start + meta.pieceLength
    if (!filesInRange(meta, start, end).some(f => missing.has(f.fileIndex))) have.set(i)
  }
  return have.bytes
}
