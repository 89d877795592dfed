import { createHash } from 'node:crypto'
import { DownloadError } from '../util/errors.js'
import { peerExtensionId, type ExtensionPeer } from './extension-ids.js'
import { MetadataAssembly } from './metadata-assembly.js'
import { decodeUtMetadata, encodeUtMetadata, metadataPieceCount, metadataPieceLength } from './ut-metadata-codec.js'

/**
 * Fetches a magnet's info dict from peers with BEP 9 `ut_metadata`, in 16 KiB pieces spread
 * over every peer that advertises the extension and a `metadata_size`, and resolves `metadata`
 * with bytes whose SHA-1 is the info hash.
 *
 * The engine owns the connections and their inbound streams; it calls:
 * - `addPeer(conn)` once the peer's BEP 10 handshake arrived (again after a new one is harmless),
 * - `onExtended(conn, payload)` for each extended message that arrived on our ut_metadata id,
 * - `removePeer(conn)` when the connection closes (it returns what the peer did, for the
 *   owner's own account of each peer),
 * - `destroy(err?)` when it stops (a pending `metadata` rejects, with `err` if given).
 *
 * What each kind of hostile or broken peer costs it: the table in lib/extensions/README.md.
 * Nobody supplies valid metadata within `timeout`: `metadata` rejects with a DownloadError
 * that says what each peer did.
 */
export interface MetadataFetcherOptions<C extends ExtensionPeer> {
  readonly infoHash: Uint8Array
  /**
   * What the assembled bytes must hash to `infoHash` by (default SHA-1). BEP 52: a v2-only
   * magnet's 20-byte id is the info dict's SHA-256, truncated.
   */
  readonly digest?: (bytes: Uint8Array) => Uint8Array
  /** A peer lied (the engine should drop it); its bytes were already discarded. Must not throw. */
  readonly onBadPeer?: (conn: C, reason: string) => void
  /**
   * Give up after this long without valid metadata (default 2 minutes). `Infinity`: never by
   * itself; the owner keeps the deadline (and its wording) and calls `destroy(err)`. The timer is
   * unref'd: an owner that awaits `metadata` keeps the process alive by its own means.
   */
  readonly timeout?: number
  /** One piece request's answer time (default 10 s). */
  readonly requestTimeout?: number
  /** Piece requests outstanding per peer (default 4; fewer if the peer's `reqq` says so). */
  readonly maxInFlightPerPeer?: number
  /** Largest metadata_size believed (default 8 MiB: real info dicts are kilobytes to a few MiB). */
  readonly maxMetadataSize?: number
  /** Timeouts before a peer is not asked again (default 2). */
  readonly maxTimeouts?: number
  /** Rejects before a peer is not asked again (default 3). */
  readonly maxRejects?: number
}

export const DEFAULT_METADATA_TIMEOUT = 120_000
export const DEFAULT_METADATA_REQUEST_TIMEOUT = 10_000
export const DEFAULT_METADATA_IN_FLIGHT = 4
export const DEFAULT_MAX_METADATA_SIZE = 8 * 1024 * 1024
const DEFAULT_MAX_TIMEOUTS = 2
const DEFAULT_MAX_REJECTS = 3

/** What a peer did, in words that follow "N peers ..." in the owner's summary. */
const LEFT_WHILE_ASKED = 'closed the connection before sending the metadata'
const STILL_ASKED = 'still asked, no valid answer yet'

type Status = 'active' | 'retired' | 'bad'

interface Peer<C> {
  readonly conn: C
  /** The id the peer wants ut_metadata on. */
  readonly id: number
  readonly size: number
  readonly inFlight: Map<number, ReturnType<typeof setTimeout>>
  /** Pieces it rejected or let time out: not asked of it again. */
  readonly declined: Set<number>
  timeouts: number
  rejects: number
  /** Pieces of the right size it answered: who to try first when fetching alone. */
  answered: number
  status: Status
  reason?: string
}

export class MetadataFetcher<C extends ExtensionPeer = ExtensionPeer> {
  /** Resolves with the verified info dict bytes; rejects on timeout or destroy. */
  readonly metadata: Promise<Uint8Array>
  private readonly _opts: MetadataFetcherOptions<C>
  private readonly _peers = new Map<C, Peer<C>>()
  private _asm: MetadataAssembly<Peer<C>> | undefined
  /** Set after a multi-peer assembly failed: who sent which piece, for attribution. */
  private _failed: MetadataAssembly<Peer<C>> | undefined
  /** While attributing: the one peer the current assembly comes from. */
  private _solo: Peer<C> | undefined
  private _rotate = 0
  /** What peers that left had done, for the timeout's message (bounded like any log). */
  private readonly _gone = new Map<string, number>()
  private _done = false
  private _resolve!: (bytes: Uint8Array) => void
  private _reject!: (err: Error) => void
  private readonly _timer: ReturnType<typeof setTimeout> | undefined

  constructor (opts: MetadataFetcherOptions<C>) {
    this._opts = opts
    this.metadata = new Promise((resolve, reject) => { this._resolve = resolve; this._reject = reject })
    // The engine may only poll `done`; an unobserved rejection must not crash the process.
    this.metadata.catch(() => {})
    const timeout = opts.timeout ?? DEFAULT_METADATA_TIMEOUT
    // setTimeout(fn, Infinity) would fire at once: no timer at all is what Infinity means.
    this._timer = Number.isFinite(timeout)
      ? setTimeout(() => { this._fail(new DownloadError(`no peer supplied valid metadata within ${timeout} ms (${this._summary()})`)) }, timeout)
      : undefined
    this._timer?.unref?.()
  }

  get done (): boolean { return this._done }

  /** Peers by state, for logs and tests. */
  get stats (): { active: number, retired: number, bad: number, piecesHave: number, pieceCount: number } {
    const s = { active: 0, retired: 0, bad: 0 }
    for (const p of this._peers.values()) s[p.status]++
    return { ...s, piecesHave: this._asm?.haveCount ?? 0, pieceCount: this._asm?.pieceCount ?? 0 }
  }

  /**
   * Starts using a peer whose extension handshake offers ut_metadata and a metadata_size.
   * Returns undefined when it is used, else why not.
   */
  addPeer (conn: C): string | undefined {
    if (this._done) return 'metadata already complete'
    if (this._peers.has(conn)) return undefined
    const id = peerExtensionId(conn, 'ut_metadata')
    if (id === undefined) return 'does not offer ut_metadata'
    const size = conn.peerExtendedHandshake?.metadataSize
    const max = this._opts.maxMetadataSize ?? DEFAULT_MAX_METADATA_SIZE
    if (size === undefined || !Number.isInteger(size) || size <= 0) return 'gave no metadata_size'
    if (size > max) return `metadata_size ${size} is above our limit of ${max} bytes`
    this._peers.set(conn, { conn, id, size, inFlight: new Map(), declined: new Set(), timeouts: 0, rejects: 0, answered: 0, status: 'active' })
    this._schedule()
    return undefined
  }

  /**
   * The connection closed: its outstanding requests go to other peers. Returns what the peer did
   * (why it was dropped, or that it left while still asked), undefined for a peer never added.
   */
  removePeer (conn: C): string | undefined {
    const p = this._peers.get(conn)
    if (p === undefined) return undefined
    if (p.status === 'active') this._retire(p, 'retired', LEFT_WHILE_ASKED)
    note(this._gone, `${p.status}: ${p.reason ?? ''}`)
    this._peers.delete(conn)
    this._schedule()
    return p.reason
  }

  /** What a peer still connected has done so far: why it is no longer asked, or that it still is. */
  describePeer (conn: C): string | undefined {
    const p = this._peers.get(conn)
    if (p === undefined) return undefined
    return p.status === 'active' ? STILL_ASKED : p.reason
  }

  /** An extended message that arrived on our ut_metadata id. Requests are the responder's. */
  onExtended (conn: C, payload: Uint8Array): void {
    if (this._done) return
    const p = this._peers.get(conn)
    if (p === undefined || p.status !== 'active') return
    let msg
    try {
      msg = decodeUtMetadata(payload)
    } catch (err) {
      this._bad(p, `sent a ${err instanceof Error ? err.message : String(err)}`)
      this._schedule()
      return
    }
    if (msg.type === 'data') this._onData(p, msg.piece, msg.totalSize, msg.data)
    else if (msg.type === 'reject') this._onReject(p, msg.piece)
    this._schedule()
  }

  destroy (err?: Error): void {
    this._fail(err ?? new DownloadError('metadata fetch stopped'))
  }

  private _onData (p: Peer<C>, piece: number, totalSize: number, data: Uint8Array): void {
    if (totalSize !== p.size) { this._bad(p, `sent ut_metadata total_size ${totalSize}, which differs from its metadata_size ${p.size}`); return }
    const count = metadataPieceCount(p.size)
    if (piece >= count) { this._bad(p, `sent ut_metadata piece ${piece}, past the last piece ${count - 1}`); return }
    const expected = metadataPieceLength(p.size, piece)
    if (data.length !== expected) { this._bad(p, `sent ut_metadata piece ${piece} that has ${data.length} bytes, expected ${expected}`); return }
    const timer = p.inFlight.get(piece)
    // Unrequested (or answered after its timeout and handed to someone else): not ours to trust.
    if (timer === undefined) return
    clearTimeout(timer)
    p.inFlight.delete(piece)
    const asm = this._asm
    if (asm === undefined || asm.size !== p.size) return
    // While finding a liar, only the solo peer's bytes count (others' answers are stale).
    if (this._failed !== undefined && p !== this._solo) return
    asm.release(piece, p)
    p.answered++
    if (!asm.has(piece)) asm.store(piece, data, p)
    if (asm.complete) this._verify(asm)
  }

  private _onReject (p: Peer<C>, piece: number): void {
    const timer = p.inFlight.get(piece)
    if (timer === undefined) return
    clearTimeout(timer)
    p.inFlight.delete(piece)
    this._asm?.release(piece, p)
    p.declined.add(piece)
    p.rejects++
    if (p.rejects >= (this._opts.maxRejects ?? DEFAULT_MAX_REJECTS)) this._retire(p, 'retired', `rejected ${p.rejects} requests`)
  }

  private _onTimeout (p: Peer<C>, piece: number): void {
    p.inFlight.delete(piece)
    this._asm?.release(piece, p)
    p.declined.add(piece)
    p.timeouts++
    if (p.timeouts >= (this._opts.maxTimeouts ?? DEFAULT_MAX_TIMEOUTS)) this._retire(p, 'retired', `left ${p.timeouts} requests unanswered`)
    this._schedule()
  }

  private _verify (asm: MetadataAssembly<Peer<C>>): void {
    const hash = Buffer.from(this._opts.digest?.(asm.bytes) ?? createHash('sha1').update(asm.bytes).digest())
    if (hash.equals(this._opts.infoHash)) {
      this._blameFromFailed(asm)
      this._finish(asm.bytes)
      return
    }
    const sources = asm.sources()
    this._asm = undefined
    if (sources.length === 1) {
      this._bad(sources[0] as Peer<C>, 'sent metadata that does not hash to the info hash')
      if (this._solo === sources[0]) this._solo = undefined
      return
    }
    // Several peers: one of them lied, but which? Fetch again from one peer at a time.
    this._failed = asm
    this._solo = undefined
  }

  /** After a multi-peer failure, whoever sent a piece that differs from the verified bytes lied. */
  private _blameFromFailed (good: MetadataAssembly<Peer<C>>): void {
    const failed = this._failed
    this._failed = undefined
    if (failed === undefined || failed.size !== good.size) return
    for (const [liar, piece] of failed.differingSources(good)) {
      if (liar.status !== 'bad') this._bad(liar, `sent ut_metadata piece ${piece} that differs from the verified metadata`)
    }
  }

  private _schedule (): void {
    if (this._done) return
    const asm = this._ensureAssembly()
    if (asm === undefined) return
    let peers = [...this._peers.values()].filter(p => p.status === 'active' && p.size === asm.size)
    if (this._failed !== undefined) {
      // Attribution: the whole assembly from one peer, so a failure names it.
      if (this._solo === undefined || this._solo.status !== 'active') {
        if (this._solo !== undefined || asm.haveCount > 0) { this._asm = undefined; this._schedule(); return }
        this._solo = peers.reduce<Peer<C> | undefined>((best, p) => best === undefined || p.answered > best.answered ? p : best, undefined)
      }
      const solo = this._solo
      if (solo !== undefined && solo.inFlight.size === 0 && asm.nextWanted(solo.declined) === undefined) {
        // It declined a piece it alone must supply: it cannot clear or convict itself.
        this._retire(solo, 'retired', 'declined a piece while fetching alone to find a liar')
        this._schedule()
        return
      }
      peers = solo === undefined ? [] : [solo]
    }
    if (peers.length === 0) return
    const max = this._opts.maxInFlightPerPeer ?? DEFAULT_METADATA_IN_FLIGHT
    this._rotate = (this._rotate + 1) % peers.length
    for (let progress = true; progress;) {
      progress = false
      for (let k = 0; k < peers.length; k++) {
        const p = peers[(k + this._rotate) % peers.length] as Peer<C>
        if (p.status !== 'active' || p.inFlight.size >= Math.min(max, p.conn.peerExtendedHandshake?.reqq ?? max)) continue
        const piece = asm.nextWanted(p.declined)
        if (piece === undefined) continue
        this._request(p, asm, piece)
        progress = true
      }
    }
    // End game: an idle peer also asks for a piece someone else holds, so one slow or silent
    // peer costs a round trip instead of a request timeout.
    for (const p of peers) {
      if (p.status !== 'active' || p.inFlight.size > 0) continue
      const piece = asm.nextClaimedElsewhere(p.declined)
      if (piece !== undefined) this._request(p, asm, piece, false)
    }
  }

  /** The assembly being filled; a new one for the size most active peers agree on. */
  private _ensureAssembly (): MetadataAssembly<Peer<C>> | undefined {
    const current = this._asm
    if (current !== undefined && [...this._peers.values()].some(p => p.status === 'active' && p.size === current.size)) return current
    const votes = new Map<number, number>()
    for (const p of this._peers.values()) if (p.status === 'active') votes.set(p.size, (votes.get(p.size) ?? 0) + 1)
    let best: number | undefined
    for (const [size, n] of votes) if (best === undefined || n > (votes.get(best) ?? 0)) best = size
    if (best === undefined) return current
    if (this._failed !== undefined && this._failed.size !== best) this._failed = undefined
    this._asm = new MetadataAssembly(best)
    this._solo = undefined
    return this._asm
  }

  private _request (p: Peer<C>, asm: MetadataAssembly<Peer<C>>, piece: number, claim = true): void {
    const ms = this._opts.requestTimeout ?? DEFAULT_METADATA_REQUEST_TIMEOUT
    const timer = setTimeout(() => { this._onTimeout(p, piece) }, ms)
    timer.unref?.()
    p.inFlight.set(piece, timer)
    if (claim) asm.claim(piece, p)
    // Retire only: removePeer would reschedule inside the caller's loop.
    if (p.conn.destroyed === true) { this._retire(p, 'retired', LEFT_WHILE_ASKED); return }
    p.conn.extended(p.id, encodeUtMetadata({ type: 'request', piece }))
  }

  private _bad (p: Peer<C>, reason: string): void {
    this._retire(p, 'bad', reason)
    this._asm?.discardFrom(p)
    try {
      this._opts.onBadPeer?.(p.conn, reason)
    } catch {
      // The callback is the engine's; its failure must not stop the fetch.
    }
  }

  private _retire (p: Peer<C>, status: Status, reason: string): void {
    if (p.status === 'bad') return
    p.status = status
    p.reason = reason
    for (const [piece, timer] of p.inFlight) {
      clearTimeout(timer)
      this._asm?.release(piece, p)
    }
    p.inFlight.clear()
  }

  private _finish (bytes: Uint8Array): void {
    this._stop()
    this._resolve(bytes)
  }

  private _fail (err: Error): void {
    if (this._done) return
    this._stop()
    this._reject(err)
  }

  private _stop (): void {
    this._done = true
    if (this._timer !== undefined) clearTimeout(this._timer)
    for (const p of this._peers.values()) {
      for (const timer of p.inFlight.values()) clearTimeout(timer)
      p.inFlight.clear()
    }
    this._asm = undefined
    this._failed = undefined
  }

  private _summary (): string {
    const reasons = new Map(this._gone)
    for (const p of this._peers.values()) note(reasons, p.status === 'active' ? STILL_ASKED : `${p.status}: ${p.reason ?? ''}`)
    if (reasons.size === 0) return 'no peer offered ut_metadata'
    return [...reasons].map(([r, n]) => `${n} peer${n === 1 ? '' : 's'} ${r}`).join('; ')
  }
}

/** Counts `reason`; past a few distinct reasons the rest share one line (reasons embed numbers). */
function note (reasons: Map<string, number>, reason: string): void {
  const key = reasons.has(reason) || reasons.size < 8 ? reason : 'gone for other reasons'
  reasons.set(key, (reasons.get(key) ?? 0) + 1)
}
