import dgram from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { randomBytes } from 'node:crypto'
import { TrackerError } from '../util/errors.js'
import {
  ACTION_ANNOUNCE, ACTION_CONNECT, ACTION_ERROR, ACTION_SCRAPE, MAX_SCRAPE_HASHES,
  decodeAnnounce, decodeConnect, decodeError, decodeScrape, encodeAnnounce, encodeConnect, encodeScrape, responseHeader
} from './udp-packets.js'
import type { AnnounceRequest, AnnounceResponse, ScrapeResult, Tracker } from './types.js'

export interface UdpTrackerOptions {
  /** First wait for an answer; BEP 15 says 15 s, doubling after each retransmission. */
  readonly baseTimeoutMs?: number
  /** Retransmissions after the first send (BEP 15 goes to 8; a CLI cannot wait an hour). */
  readonly maxRetries?: number
  /** How long a connection id may be used after it was received (BEP 15: one minute). */
  readonly connectionIdTtlMs?: number
}

export const DEFAULT_UDP_BASE_TIMEOUT_MS = 15_000
/** 15 s + 30 s: a dead UDP tracker costs 45 s before the tier moves on. */
export const DEFAULT_UDP_MAX_RETRIES = 1
const CONNECTION_ID_TTL_MS = 60_000

const TIMEOUT = Symbol('timeout')

interface Pending {
  readonly expect: number
  readonly resolve: (packet: Buffer) => void
  readonly reject: (err: Error) => void
}

/**
 * A UDP tracker (BEP 15): connect, then announce or scrape with the connection id, reused for
 * its one-minute lifetime. One connected socket per tracker, so the response format follows its
 * address family and a dead port reports ECONNREFUSED instead of timing out.
 */
export class UdpTracker implements Tracker {
  readonly url: string
  private readonly baseTimeoutMs: number
  private readonly maxRetries: number
  private readonly ttlMs: number
  private socket: Promise<{ socket: dgram.Socket, family: 4 | 6 }> | undefined
  private readonly pending = new Map<number, Pending>()
  private connectionId: Uint8Array | undefined
  private connectedAt = 0
  /** Packets that matched no transaction, reported if the request then times out. */
  private strays = 0
  private runts = 0
  private closed = false

  constructor (url: string, opts: UdpTrackerOptions = {}) {
    this.url = url
    this.baseTimeoutMs = opts.baseTimeoutMs ?? DEFAULT_UDP_BASE_TIMEOUT_MS
    this.maxRetries = opts.maxRetries ?? DEFAULT_UDP_MAX_RETRIES
    this.ttlMs = opts.connectionIdTtlMs ?? CONNECTION_ID_TTL_MS
  }

  async announce (req: AnnounceRequest, signal: AbortSignal): Promise<AnnounceResponse> {
    return await this.wrap(async () => {
      const { family } = await this.open()
      const packet = await this.request(ACTION_ANNOUNCE, (cid, tid) => encodeAnnounce(cid, tid, req), signal)
      return decodeAnnounce(packet, family)
    })
  }

  /** Seeders, completed and leechers for up to 74 torrents (BEP 15 scrape). */
  async scrape (infoHashes: readonly Uint8Array[], signal: AbortSignal): Promise<ScrapeResult[]> {
    if (infoHashes.length > MAX_SCRAPE_HASHES) throw new RangeError(`at most ${MAX_SCRAPE_HASHES} info hashes per scrape`)
    return await this.wrap(async () => {
      const packet = await this.request(ACTION_SCRAPE, (cid, tid) => encodeScrape(cid, tid, infoHashes), signal)
      return decodeScrape(packet, infoHashes.length)
    })
  }

  close (): void {
    this.closed = true
    this.fail(new TrackerError('tracker closed'))
    this.socket?.then(s => { try { s.socket.close() } catch {} }, () => {})
    this.socket = undefined
  }

  private async wrap<T> (fn: () => Promise<T>): Promise<T> {
    try {
      if (this.closed) throw new TrackerError('tracker closed')
      return await fn()
    } catch (err) {
      throw new TrackerError(`${this.url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
    }
  }

  /**
   * BEP 15 "Time outs": wait 15·2^n s, n growing with each retransmission, reconnecting when the
   * connection id has expired. Here the base and the number of retransmissions are bounded.
   */
  private async request (action: number, build: (cid: Uint8Array, tid: number) => Uint8Array, signal: AbortSignal): Promise<Buffer> {
    let n = 0
    let waited = 0
    let justConnected = false
    const started = this.strays + this.runts
    for (;;) {
      const timeoutMs = this.baseTimeoutMs * 2 ** n
      let answer: Buffer | typeof TIMEOUT
      const cid = this.connectionId
      // A connection id just received is used at once, however short the configured lifetime.
      if (cid === undefined || (!justConnected && Date.now() - this.connectedAt > this.ttlMs)) {
        answer = await this.exchange(ACTION_CONNECT, encodeConnect, timeoutMs, signal)
        if (answer !== TIMEOUT) {
          this.connectionId = decodeConnect(answer)
          this.connectedAt = Date.now()
          justConnected = true
          continue
        }
      } else {
        justConnected = false
        answer = await this.exchange(action, tid => build(cid, tid), timeoutMs, signal)
        if (answer !== TIMEOUT) return answer
      }
      waited += timeoutMs
      if (++n > this.maxRetries) {
        const ignored = this.strays + this.runts - started
        throw new TrackerError(`timed out after ${n} attempt${n === 1 ? '' : 's'} (${waited} ms)` +
          (ignored > 0 ? `; ignored ${ignored} packet(s) with a wrong transaction id or too short` : ''))
      }
    }
  }

  /** One send and the wait for the answer with its transaction id. */
  private async exchange (expect: number, build: (tid: number) => Uint8Array, timeoutMs: number, signal: AbortSignal): Promise<Buffer | typeof TIMEOUT> {
    const { socket } = await this.open()
    if (signal.aborted) throw new TrackerError('aborted')
    let tid = randomBytes(4).readUInt32BE(0)
    while (this.pending.has(tid)) tid = (tid + 1) >>> 0
    const id = tid
    return await new Promise<Buffer | typeof TIMEOUT>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        this.pending.delete(id)
      }
      const timer = setTimeout(() => { done(); resolve(TIMEOUT) }, timeoutMs)
      const onAbort = (): void => { done(); reject(new TrackerError('aborted')) }
      signal.addEventListener('abort', onAbort)
      this.pending.set(id, {
        expect,
        resolve: p => { done(); resolve(p) },
        reject: e => { done(); reject(e) }
      })
      try {
        socket.send(build(id), err => { if (err !== null) this.pending.get(id)?.reject(new TrackerError(`send failed: ${err.message}`)) })
      } catch (err) {
        this.pending.get(id)?.reject(new TrackerError(`send failed: ${(err as Error).message}`))
      }
    })
  }

  private onMessage (packet: Buffer): void {
    const head = responseHeader(packet)
    if (head === undefined) { this.runts++; return }
    const p = this.pending.get(head.transactionId)
    if (p === undefined) { this.strays++; return }
    if (head.action === ACTION_ERROR) p.reject(new TrackerError(`tracker error: ${decodeError(packet)}`))
    else if (head.action !== p.expect) p.reject(new TrackerError(`wrong action ${head.action} in response (expected ${p.expect})`))
    else if (packet.length < (p.expect === ACTION_CONNECT ? 16 : p.expect === ACTION_ANNOUNCE ? 20 : 8)) {
      p.reject(new TrackerError(`response too short (${packet.length} bytes)`))
    } else p.resolve(packet)
  }

  private fail (err: Error): void {
    for (const p of [...this.pending.values()]) p.reject(err)
  }

  private async open (): Promise<{ socket: dgram.Socket, family: 4 | 6 }> {
    this.socket ??= this.connectSocket()
    try {
      return await this.socket
    } catch (err) {
      this.socket = undefined
      throw err
    }
  }

  private async connectSocket (): Promise<{ socket: dgram.Socket, family: 4 | 6 }> {
    const u = new URL(this.url)
    const port = Number(u.port)
    if (u.port === '' || port < 1 || port > 65535) throw new TrackerError('UDP tracker URL has no port')
    const hostname = u.hostname.replace(/^\[(.*)\]$/, '$1')
    let address: string
    let family: 4 | 6
    try {
      const found = await lookup(hostname)
      address = found.address
      family = found.family === 6 ? 6 : 4
    } catch (err) {
      throw new TrackerError(`cannot resolve ${hostname}: ${(err as Error).message}`)
    }
    const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4')
    socket.on('message', packet => this.onMessage(packet))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // ECONNREFUSED arrives here (ICMP port unreachable on the connected socket): fail what is
      // waiting and start over with a fresh socket next time.
      this.fail(new TrackerError(err.code === 'ECONNREFUSED' ? 'connection refused (nothing listening on that port)' : err.message))
      this.connectionId = undefined
      this.socket = undefined
      try { socket.close() } catch {}
    })
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.connect(port, address, () => { socket.off('error', reject); resolve() })
    })
    // An idle tracker socket must not keep the process alive; pending requests hold timers.
    socket.unref()
    if (this.closed) { socket.close(); throw new TrackerError('tracker closed') }
    return { socket, family }
  }
}
