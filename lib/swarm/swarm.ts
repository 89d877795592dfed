/**
 * The download engine: peers from the pool, blocks from the tracker, pieces verified, and verified
 * pieces written to a sink (the merging Writable for stdout, storage for disk). It owns the
 * decisions that span peers: who gets which request, what a hash failure costs, when a peer is
 * too slow to wait for, and when the download cannot finish.
 */
import { EventEmitter } from 'node:events'
import type { ExtensionPeer } from '../extensions/extension-ids.js'
import { routeExtended } from '../extensions/extension-router.js'
import { MetadataResponder } from '../extensions/metadata-responder.js'
import { PexTracker } from '../extensions/pex-tracker.js'
import { equalBytes, toHex } from '../wire/handshake.js'
import type { Message } from '../wire/messages.js'
import { SelfConnectionError } from '../wire/peer-connection.js'
import { PiecePicker } from '../pieces/piece-picker.js'
import { RequestTracker } from '../pieces/request-tracker.js'
import { BLOCK_LENGTH, type ActivePiece } from '../pieces/active-piece.js'
import { PieceBufferPool } from '../pieces/piece-buffer-pool.js'
import { pieceGeometry } from '../metainfo/geometry.js'
import { ProtocolError } from '../util/errors.js'
import { RateMeter } from '../util/rate.js'
import { PeerPool, addressKey, type PeerAddress, type PeerSource } from './peer-pool.js'
import { PeerSession } from './peer-session.js'
import { dropSeedPeer, dropSeedPeers } from './seed-mode.js'
import { stallError } from './stall.js'
import { headFor, type HeadPeers } from './head-of-line.js'
import { FRESH_QUEUE, minTopUp, QueueTime, trimExcess } from './queue-time.js'
import { SuspectPieces } from './suspect-pieces.js'
import { pieceVerification, type PieceVerification } from './piece-verification.js'
import { HashService } from '../v2/hash-service.js'
import { BlockStreamer } from '../v2/block-streamer.js'
import type { SwarmOptions, SwarmStats, WirePeer } from './types.js'

export type { PieceSink, SwarmOptions, SwarmStats, SwarmUpload, WirePeer } from './types.js'

interface SwarmEvents {
  piece: [index: number]
  complete: []
  'peer-banned': [addr: PeerAddress, reason: string]
  'peer-error': [addr: PeerAddress, err: Error]
  error: [err: Error]
}

const TICK_MS = 250
/** A block at the head of the output held longer than this by one peer is asked of another. */
const MIN_STALE_MS = 1500
/**
 * With a window, a block asked for now arrives after about the queue time (queueSeconds): a head
 * block held twice that long is late, down to this floor (a slow web seed or peer beside fast ones
 * used to hold each head piece for the full MIN_STALE_MS).
 */
const STALE_FLOOR_MS = 250
/**
 * A peer holding requests that delivered nothing for this long no longer counts as a block's
 * holder when a second peer would duplicate it (endgame, stalled head): a silent peer must not
 * keep a live one out until the snub timeout.
 */
const IDLE_HOLDER_MS = 1000
/**
 * Hash failures a peer may share in before it is banned (alone: banned at once), unless as many
 * verified pieces carry its blocks. Shared failures are resolved exactly by the failed piece's
 * exclusive refetch (RequestTracker's parole) and SuspectPieces; this is the backstop.
 */
const MAX_STRIKES = 3
/** Re-check interest in every peer this often (a scan of the wanted pieces). */
const INTEREST_EVERY_MS = 2000
/** PEX messages are due at most once a minute per peer (BEP 11); checking often keeps them on time. */
const PEX_CHECK_MS = 5000
/** Disk mode: pieces being fetched hold at most this much memory. */
const DEFAULT_MAX_ACTIVE_BYTES = 64 * 1024 * 1024

export class Swarm extends EventEmitter<SwarmEvents> {
  readonly picker: PiecePicker
  readonly tracker: RequestTracker<PeerSession>
  readonly pool: PeerPool<WirePeer>
  private readonly opts: SwarmOptions
  /** BEP 11 peer exchange into our pool (never for a private torrent, BEP 27). */
  readonly pex: PexTracker<ExtensionPeer> | undefined
  /** BEP 9: our info dict for peers that came by magnet. */
  readonly metadata: MetadataResponder
  private readonly sessions = new Map<string, PeerSession>()
  /** Peer ids connected, and whether we dialed them: an incoming connection never duplicates a peer. */
  private readonly peerIds = new Map<string, boolean>()
  private readonly suspects = new SuspectPieces<PeerSession>()
  private readonly rate = new RateMeter()
  /** SHA-1 (v1, hybrid) or BEP 52 merkle (v2-only) checks, on the hashing thread. */
  private readonly verification: PieceVerification
  /** BEP 52: hash requests (id 21) answered; a failed v2 piece's bad blocks traced to their senders. */
  private readonly hashes: HashService<PeerSession> | undefined
  /** BEP 52, stdout: head pieces checked block by block, verified blocks out before the piece is whole. */
  private readonly blocks: BlockStreamer<PeerSession> | undefined
  /** Piece memory, reused once the sink gives a piece back (VerifiedPiece.release). */
  private readonly buffers: PieceBufferPool
  /** How deep each peer's request queue is, in seconds of its rate (queue-time.ts). */
  private readonly queueTime: QueueTime
  private timer: NodeJS.Timeout | null = null
  private lastProgress = Date.now()
  private lastInterestCheck = 0
  private lastPexCheck = 0
  private downloaded = 0
  private verifiedBytes = 0
  private wasted = 0
  private hashFailures = 0
  private stopped = false
  /**
   * Why the trackers fail now, one worded line each (describeTrackerFailure), set by the peer
   * sources: when no peer was found, the stall message names them.
   */
  trackerFailures: () => readonly string[] = () => []
  /** The sink said stop: no new piece starts until it drains. */
  private sinkBlocked = false
  /**
   * Sources the pool does not dial (BEP 19 web seeds, lib/webseed) say what became of them: the
   * stall message ends with it.
   */
  stallNote: (() => string) | undefined = undefined

  constructor (opts: SwarmOptions) {
    super()
    this.opts = opts
    const meta = opts.meta
    this.picker = new PiecePicker({
      pieceCount: meta.pieceCount,
      first: opts.firstPiece,
      last: opts.lastPiece,
      wanted: opts.wanted,
      have: opts.have,
      windowPieces: opts.windowPieces,
      urgentPieces: 2
    })
    // A window bounds what is in flight by itself; without one, a byte budget does.
    const maxActive = opts.windowPieces ?? Math.ceil((opts.maxActiveBytes ?? DEFAULT_MAX_ACTIVE_BYTES) / meta.pieceLength)
    this.verification = pieceVerification(meta)
    // A download hashes its first piece within ms of the first unchoke: the thread boots now.
    if (!this.picker.complete) this.verification.warm()
    this.hashes = HashService.for<PeerSession>(meta, { connectionOf: s => (s.link as WirePeer).connection, blame: (s, why) => this.ban(s, why) })
    // Pieces in use at once: those being fetched or hashed (maxActive), plus those the sink still
    // holds (the merger's window, the disk sink's queue and writes). A free list of only maxActive
    // dropped buffers the sink gave back and allocated new ones (-o: 144-182 allocated for ~84 in
    // use). The pool never holds more than were in use at once, so twice is a bound, not a cost.
    this.buffers = new PieceBufferPool(meta.pieceLength, 2 * maxActive)
    this.queueTime = new QueueTime(opts.windowPieces === undefined ? undefined : opts.windowPieces * meta.pieceLength)
    this.tracker = new RequestTracker<PeerSession>(this.picker, pieceGeometry(meta), maxActive, length => this.buffers.take(length))
    this.blocks = opts.windowPieces === undefined
      ? undefined
      : BlockStreamer.for<PeerSession>(meta, opts.sink, opts.firstPiece ?? 0, {
        connectionOf: s => (s.link as WirePeer).connection,
        activePiece: i => this.tracker.activePiece(i),
        blame: (s, why) => this.ban(s, why)
      })
    this.pool = new PeerPool<WirePeer>({
      maxPeers: opts.maxPeers ?? 50,
      maxHalfOpen: opts.maxHalfOpen ?? 8,
      maxRetries: 3,
      retryBaseMs: 2000,
      dial: opts.connect
    })
    this.pex = meta.private ? undefined : new PexTracker<ExtensionPeer>({ onPeers: peers => { for (const p of peers) this.addPeer(p, 'pex') } })
    this.metadata = new MetadataResponder({ infoBytes: meta.infoBytes })
    this.pool.on('connection', (peer, addr) => this.onConnection(peer, addr))
    this.pool.on('dial-error', (addr, err) => {
      // The wire caught a dial to our own listener: never again.
      if (err instanceof SelfConnectionError) this.pool.ban(addr, 'ourselves')
      this.emit('peer-error', addr, err)
    })
  }

  /** Piece buffers allocated, and reused after the sink gave them back: memory the window bounds. */
  get pieceBuffers (): { readonly allocated: number, readonly reused: number } {
    return { allocated: this.buffers.allocated, reused: this.buffers.reused }
  }

  get stats (): SwarmStats {
    return {
      downloaded: this.downloaded,
      verified: this.verifiedBytes,
      wasted: this.wasted,
      rate: this.rate.rate(),
      peers: this.sessions.size,
      piecesLeft: this.picker.piecesLeft,
      bytesLeft: this.picker.piecesLeft * this.opts.meta.pieceLength,
      banned: this.pool.stats.banned,
      hashFailures: this.hashFailures
    }
  }

  start (): void {
    if (this.timer !== null || this.stopped) return
    this.lastProgress = Date.now()
    this.timer = setInterval(() => this.tick(), TICK_MS)
    if (this.picker.complete) this.finish()
  }

  /** The sink emitted everything before piece `next` (the stdout merger): slide the window. */
  sinkAdvanced (next: number): void {
    this.picker.setAnchor(next)
    this.blocks?.cursorMoved(next)
    this.refillAll()
  }

  /** The sink took its backlog: new pieces may start again. */
  sinkDrained (): void {
    this.sinkBlocked = false
    this.refillAll()
  }

  addPeer (addr: PeerAddress, source: PeerSource): void {
    if (!this.stopped) this.pool.add(addr, source)
  }

  /**
   * A peer that dialed us (its handshake done): it joins like a dialed one, within the pool's cap,
   * unless it is banned or already connected. `addr` is its remote address and port. False, and
   * the connection is closed, when refused.
   */
  addIncoming (peer: WirePeer, addr: PeerAddress): boolean {
    if (this.stopped || this.pool.isBanned(addr) || !this.pool.admit(addr)) { peer.destroy(); return false }
    return this.onConnection(peer, addr, false)
  }

  /** Stop everything: peers closed, timers cleared. With an error, the sink fails too. */
  stop (err?: Error): void {
    if (this.stopped) return
    this.stopped = true
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.pool.close()
    this.verification.close()
    this.buffers.clear()
    this.opts.upload?.stop()
    for (const s of this.sessions.values()) s.link.destroy()
    this.sessions.clear()
    this.peerIds.clear()
    if (err !== undefined) {
      // The download's owner hears the reason first; the sink's own teardown error comes after.
      this.emit('error', err)
      this.opts.sink.destroy(err)
    }
  }

  private onConnection (peer: WirePeer, addr: PeerAddress, outgoing = true): boolean {
    if (this.stopped) { peer.destroy(); return false }
    const id = toHex(peer.peerId)
    const self = equalBytes(peer.peerId, this.opts.peerId)
    const other = this.peerIds.get(id)
    // Only with incoming connections in play: the download-only swarm behaves as it always did.
    const duplicate = other !== undefined && (!outgoing || !other)
    if (self || duplicate) {
      // Trackers hand us our own address; a connection to ourselves is never useful. A second
      // connection to a peer (it dialed us while we dialed it) adds nothing to the first.
      if (self) this.pool.ban(addr, 'ourselves')
      peer.destroy()
      this.pool.disconnected(addr, false)
      return false
    }
    const session = new PeerSession(addr, peer, this.opts.meta.pieceCount)
    session.incoming = !outgoing
    const key = addressKey(addr)
    this.sessions.set(key, session)
    this.peerIds.set(id, outgoing)
    // BEP 11 names a peer by where it listens: for one that dialed us, that is its BEP 10 `p`.
    this.pex?.connected(peer.extensionPeer, outgoing ? { host: addr.host, port: addr.port, outgoing } : undefined)
    this.opts.upload?.open(session, peer)
    peer.attach(m => this.onMessage(session, m), err => this.onClose(session, key, id, err))
    return true
  }

  private onClose (session: PeerSession, key: string, id: string, err: Error | null): void {
    if (this.sessions.get(key) !== session) return
    this.sessions.delete(key)
    this.peerIds.delete(id)
    this.opts.upload?.close(session)
    this.pex?.disconnected(session.link.extensionPeer)
    this.tracker.release(session)
    session.withdrawPieces(this.picker)
    this.pool.disconnected(session.addr, session.received > 0)
    if (err !== null) this.emit('peer-error', session.addr, err)
    this.refillAll()
  }

  private onMessage (s: PeerSession, m: Message): void {
    if (this.stopped) return
    switch (m.type) {
      case 'bitfield':
        if (m.bitfield.length !== s.pieces.bytes.length) { s.link.destroy(new ProtocolError('bitfield of the wrong size')); return }
        // Usually the first message; a late one (aria2 sends have none, haves, then a bitfield)
        // adds to what the peer told us: its counts leave the picker and come back merged.
        s.mergePieces(this.picker, m.bitfield)
        this.updateInterest(s)
        break
      case 'have':
        if (m.index >= this.opts.meta.pieceCount || s.has(m.index)) return
        s.pieces.set(m.index)
        this.picker.addHave(m.index)
        if (!s.amInterested && this.picker.state[m.index] !== 0 && !this.picker.isDone(m.index)) this.updateInterest(s)
        break
      case 'haveAll':
        if (!s.seed) { s.withdrawPieces(this.picker); s.seed = true; this.picker.addSeed() }
        this.updateInterest(s)
        break
      case 'haveNone':
        // First, it says what we assumed; late, it cannot take back pieces the peer announced
        // (peers do not lose pieces): nothing to do either way.
        break
      case 'choke':
        s.peerChoking = true
        // BEP 6: with the fast extension the peer rejects each request it drops; without it a
        // choke silently drops them all.
        if (!s.link.fast) {
          this.tracker.release(s)
          this.refillAll()
        }
        break
      case 'unchoke':
        s.peerChoking = false
        this.refill(s)
        break
      case 'piece':
        this.onPiece(s, m.index, m.begin, m.block)
        break
      case 'reject':
        if (this.tracker.releaseOne(s, m.index, m.begin)) this.refillAll()
        break
      case 'extended':
        if (m.id === 0 && s.incoming) this.learnListenPort(s)
        routeExtended(s.link.extensionPeer, m.id, m.payload, { pex: this.pex, responder: this.metadata })
        break
      case 'request': case 'cancel': case 'interested': case 'notInterested':
        this.opts.upload?.onMessage(s, m)
        break
      case 'unknown':
        if (this.blocks?.onMessage(s, m.id, m.payload) !== true) this.hashes?.onMessage(s, m.id, m.payload)
        break
      default:
        break
    }
    if (this.opts.seed !== undefined && PeerSession.isAvailability(m)) dropSeedPeer(this.opts.seed, this.pool, s)
  }

  /** An incoming peer's BEP 10 handshake: its `p` is the address PEX may pass on. */
  private learnListenPort (s: PeerSession): void {
    const p = s.link.extensionPeer.peerExtendedHandshake?.p
    if (p !== undefined && Number.isInteger(p) && p > 0 && p < 65536) this.pex?.connected(s.link.extensionPeer, { host: s.addr.host, port: p, outgoing: false })
  }

  private onPiece (s: PeerSession, index: number, begin: number, block: Uint8Array): void {
    const now = Date.now()
    // BEP 52: a head piece's block is checked alone; a bad one is never stored, its sender banned.
    const verdict = this.blocks?.check(s, index, begin, block) ?? 'unchecked'
    if (verdict === 'bad') { this.wasted += block.length; return }
    const r = this.tracker.receive(s, index, begin, block)
    if (!r.accepted) {
      this.wasted += block.length
      return
    }
    s.received += block.length
    s.download.add(block.length, now)
    s.lastBlockAt = now
    s.snubbed = false
    this.downloaded += block.length
    this.rate.add(block.length, now)
    this.lastProgress = now
    for (const other of r.cancels) other.link.cancel(index, begin, block.length)
    this.blocks?.stored(index, begin, verdict)
    if (r.piece !== undefined) this.onPieceComplete(r.piece)
    if (!this.stopped) this.refill(s)
  }

  /** Every block is in: hash it (on the hashing thread), then keep it or throw it away. */
  private onPieceComplete (piece: ActivePiece<PeerSession>): void {
    this.verification.check(piece.index, piece.buffer).then(({ ok, data }) => {
      if (this.stopped) return
      piece.buffer = data
      if (ok) this.onPieceVerified(piece)
      else this.onPieceFailed(piece)
    }, () => {
      if (this.stopped) return
      this.tracker.pieceLost(piece)
      this.refillAll()
    })
  }

  private onPieceVerified (piece: ActivePiece<PeerSession>): void {
    for (const p of piece.senders) {
      if (p === undefined || p.lastVerifiedShare === piece.index) continue
      p.lastVerifiedShare = piece.index
      p.verifiedShares++
    }
    for (const liar of this.suspects.resolve(piece)) this.ban(liar, `sent corrupt data for piece ${piece.index}`)
    this.tracker.pieceVerified(piece)
    this.verifiedBytes += piece.length
    const data = piece.buffer
    if (!this.opts.sink.write({ index: piece.index, data, release: () => { this.buffers.give(data) } })) this.sinkBlocked = true
    this.emit('piece', piece.index)
    this.tracker.recycle(piece)
    if (this.picker.complete) this.finish()
  }

  private onPieceFailed (piece: ActivePiece<PeerSession>): void {
    this.hashFailures++
    this.wasted += piece.length
    this.suspects.record(piece)
    if (this.blocks?.pieceFailed(piece) !== true) this.hashes?.pieceFailed(piece, this.sessions.values())
    // A failed piece's buffer is not reused: forensics (and BEP 52 block blame) keep its bytes.
    const blame = this.tracker.pieceFailed(piece)
    for (const s of blame.keys()) {
      s.strikes++
      if (blame.size === 1) this.ban(s, `sent piece ${piece.index}, which failed its ${this.verification.name} check`)
      else if (s.strikes >= MAX_STRIKES && s.strikes > s.verifiedShares) this.ban(s, `shared in ${s.strikes} pieces that failed their ${this.verification.name} check`)
    }
    this.refillAll()
  }

  private ban (s: PeerSession, reason: string): void {
    if (this.pool.isBanned(s.addr)) return
    this.pool.ban(s.addr, reason)
    this.emit('peer-banned', s.addr, reason)
    s.link.destroy(new ProtocolError(reason))
  }

  private finish (): void {
    if (this.stopped) return
    this.opts.sink.end(null)
    this.emit('complete')
    // Seed mode (seed-mode.ts): complete is where a seed starts; it serves until stop().
    if (this.opts.seed === undefined) this.stop()
    else dropSeedPeers(this.opts.seed, this.pool, this.sessions.values())
  }

  /** Given the refill's clock: fill asks it of many holders (a Date.now each was 2.5% of `-o`'s main thread). */
  private readonly isIdleHolder = (holder: PeerSession, now: number): boolean => now - holder.lastBlockAt > IDLE_HOLDER_MS
  private readonly headPeers: HeadPeers = { outstanding: s => this.tracker.outstandingCount(s), idle: this.isIdleHolder }

  /** Top the peer's pipeline up to its target depth. */
  private refill (s: PeerSession): void {
    // A peer that does not read would collect our requests in our own write queue: each choke /
    // unchoke or reject cycle re-sends them (measured +130 to +330 MiB for 100 000 cycles).
    if (s.peerChoking || !s.amInterested || s.link.backlogged?.() === true) return
    const now = Date.now()
    const queueSeconds = this.queueSeconds(now)
    let target = s.targetQueue(now, queueSeconds)
    // The output's first piece goes to several peers, not all of it to the first one to unchoke.
    if (this.opts.windowPieces !== undefined && s.received === 0) target = Math.min(target, FRESH_QUEUE)
    const outstanding = this.tracker.outstandingCount(s)
    const want = target - outstanding
    // Top up in batches: one request per arriving block would cost a syscall per 16 KiB.
    if (want < minTopUp(target)) return
    const limiter = this.opts.downloadLimiter
    let budget = want
    if (limiter !== undefined) {
      // Paced by the download limit: a block asked for is a block that will arrive. The tick
      // (TICK_MS) tops up again once the bucket refilled.
      const available = limiter.available()
      if (available <= 0) return
      budget = Math.min(want, Math.ceil(available / BLOCK_LENGTH))
    }
    const staleMs = Math.min(MIN_STALE_MS, Math.max(STALE_FLOOR_MS, 2000 * queueSeconds))
    // Window mode: a head block the output will wait for goes to this peer too if it is sooner.
    const window = this.opts.windowPieces
    const head = window === undefined ? undefined : headFor(s, this.picker.cursor, window, this.headPeers, now, staleMs)
    const reqs = this.tracker.fill(s, budget, { now, staleMs, startNew: !this.sinkBlocked, isIdle: this.isIdleHolder, head })
    if (limiter !== undefined) for (const r of reqs) limiter.take(r.length)
    // The snub clock starts when the peer has something to answer, not when it connected.
    if (outstanding === 0 && reqs.length > 0) s.lastBlockAt = now
    this.blocks?.willRequest(s, reqs, now)
    s.sendRequests(reqs)
  }

  /** How many seconds of each peer's rate its request queue should cover (queue-time.ts). */
  private queueSeconds (now: number): number {
    return this.queueTime.seconds(this.rate.rate(now), now)
  }

  private refillAll (): void {
    for (const s of this.sessions.values()) this.refill(s)
  }

  private updateInterest (s: PeerSession): void {
    s.setInterested(this.picker.interestedIn(s))
    if (s.amInterested) this.refill(s)
  }

  private tick (): void {
    const now = Date.now()
    const timeout = this.opts.requestTimeoutMs ?? 15_000
    const snubMs = this.opts.snubMs ?? 5_000
    for (const s of this.sessions.values()) {
      const outstanding = this.tracker.outstandingCount(s)
      if (outstanding > 0 && !s.snubbed && now - s.lastBlockAt > snubMs) {
        // It holds requests and sends nothing: let the others have its blocks.
        s.snubbed = true
        this.tracker.release(s)
      }
      for (const r of this.tracker.expired(s, now, timeout)) {
        if (this.tracker.releaseOne(s, r.index, r.begin)) {
          s.timeouts++
          s.link.cancel(r.index, r.begin, r.length)
        }
      }
    }
    if (this.opts.windowPieces !== undefined) this.trimQueues(now)
    if (this.pex !== undefined && now - this.lastPexCheck > PEX_CHECK_MS) {
      this.lastPexCheck = now
      this.pex.sendDue()
    }
    if (now - this.lastInterestCheck > INTEREST_EVERY_MS) {
      this.lastInterestCheck = now
      for (const s of this.sessions.values()) this.updateInterest(s)
    }
    this.refillAll()
    this.checkStall(now)
  }

  /**
   * Window mode: a queue filled while its peer's rate was overestimated (a seeder's burst, a fast
   * start) takes several queue times to drain, and the head's blocks wait in it. Its newest
   * requests are released and cancelled; faster queues take them.
   */
  private trimQueues (now: number): void {
    const seconds = this.queueSeconds(now)
    for (const s of this.sessions.values()) {
      const target = s.targetQueue(now, seconds)
      const excess = trimExcess(this.tracker.outstandingCount(s), target)
      if (excess === 0) continue
      for (const r of this.tracker.preempt(s, target)) s.link.cancel(r.index, r.begin, r.length)
    }
  }

  /**
   * The download cannot finish: every peer we heard of is banned, or nothing arrived for the stall
   * timeout (no peers, dead peers, or peers that keep us choked).
   */
  private checkStall (now: number): void {
    if (this.picker.complete) return
    // A paused reader (a player, `| less`) or a slow disk holds the download back, not the peers.
    if (this.sinkBlocked || this.picker.waitingOnReader) { this.lastProgress = now; return }
    const { banned, known } = this.pool.stats
    let choking = 0
    for (const s of this.sessions.values()) if (s.peerChoking) choking++
    const err = stallError({
      idleMs: now - this.lastProgress,
      limitMs: this.opts.stallTimeoutMs ?? 60_000,
      connected: this.sessions.size,
      choking,
      known,
      banned,
      exhausted: this.pool.exhausted,
      outcomes: this.pool.outcomes,
      trackerFailures: this.trackerFailures(),
      note: this.stallNote?.()
    })
    if (err !== undefined) this.stop(err)
  }
}
