/**
 * A magnet link's metadata (BEP 9): peers from the magnet's `x.pe`, its trackers (`tr`) and the
 * DHT are dialed, those offering `ut_metadata` are asked for the info dict in 16 KiB pieces, and
 * the assembled bytes must hash to the magnet's info hash. The result is a Metainfo as good as a
 * .torrent's, plus the peers that answered, so the download can start with them at once.
 *
 * A v2-only magnet (BEP 52, urn:btmh alone): the metadata must hash (SHA-256, truncated) to the
 * swarm id, and then the piece layers the info dict does not carry are asked from the same
 * peers with hash requests (lib/v2/layer-fetcher.ts), within the same deadline.
 *
 * It ends in exactly one of three ways, never by the event loop running dry: verified metadata;
 * the deadline (a ref'd timer: it is what keeps the process waiting while every peer is between
 * retries), with a reason that counts what the peers did; or, when every peer was banned for
 * lying and no tracker or DHT can name another, at once with that reason. Until then a peer that
 * refused or dropped us is dialed again with backoff: it may be starting, or the only one there is.
 */
import { openSessionUtp, type UtpOptions } from '../utp/session.js'
import type { EncryptionPolicy } from '../wire/connect.js'
import type { Magnet } from '../magnet/parse.js'
import { parseInfoDict } from '../metainfo/parse.js'
import { createHash } from 'node:crypto'
import { LayerFetcher } from '../v2/layer-fetcher.js'
import { v2Handshake } from '../swarm/wire-peer.js'
import type { Metainfo } from '../metainfo/types.js'
import { MetadataFetcher } from '../extensions/metadata-fetcher.js'
import { ourExtensions } from '../extensions/extension-ids.js'
import { routeExtended } from '../extensions/extension-router.js'
import { Announcer } from '../tracker/announcer.js'
import { formatPeer, type PeerAddress } from '../tracker/compact.js'
import { DownloadError, ProtocolError } from '../util/errors.js'
import { connect } from '../wire/connect.js'
import type { Message } from '../wire/messages.js'
import type { PeerConnection } from '../wire/peer-connection.js'
import { generatePeerId } from '../wire/peer-id.js'
import { PeerPool } from '../swarm/peer-pool.js'
import { classifyDialError, describeCounts, outcomeWords } from '../swarm/peer-outcome.js'
import { startDhtLookup, type DhtOptions } from './dht-source.js'

export interface MagnetMetadataOptions extends DhtOptions, UtpOptions {
  /** Peers to ask besides the magnet's own `x.pe`. */
  readonly peers?: readonly PeerAddress[]
  /** Ask the magnet's trackers (default true). */
  readonly trackers?: boolean
  readonly peerId?: Uint8Array
  /** Give up after this long without valid metadata (default 120 s). */
  readonly timeoutMs?: number
  readonly maxPeers?: number
  readonly signal?: AbortSignal
  /** MSE/PE for our dials: 'prefer' (default), 'require', 'off'. */
  readonly encryption?: EncryptionPolicy
  /** The port announced to the trackers: where the download that follows will listen (default 6881). */
  readonly port?: number
}

/**
 * `left` while the metadata is unknown: the size is not known yet, and 0 would tell the tracker
 * we are a seed (others would dial us for pieces we do not have).
 */
const LEFT_UNKNOWN = 1

export interface MagnetMetadata {
  readonly meta: Metainfo
  /** Peers that completed a handshake: good first candidates for the download. */
  readonly peers: PeerAddress[]
}

export const DEFAULT_MAGNET_TIMEOUT_MS = 120_000

/**
 * Redials of a peer that refused or dropped us: the first after 1 s (a peer being started),
 * then 4 s, 16 s, and every 30 s until the deadline. Unbounded in number, bounded by the deadline.
 */
const RETRY_BASE_MS = 1000
const RETRY_MAX_MS = 30_000

/** Distinct reasons listed in the failure message; the rest are counted as "other reasons". */
const MAX_REASONS = 8

/** What each peer address did last, in words that follow "N peers ...". */
type PeerLog = Map<string, string>

export async function fetchMagnetMetadata (magnet: Magnet, opts: MagnetMetadataOptions = {}): Promise<MagnetMetadata> {
  const peerId = opts.peerId ?? generatePeerId()
  const announce = magnet.trackers.map(t => [t])
  const timeoutMs = opts.timeoutMs ?? DEFAULT_MAGNET_TIMEOUT_MS
  const v2Only = magnet.version === 'v2'
  const fetcher = new MetadataFetcher<PeerConnection>({
    infoHash: magnet.infoHash,
    ...(v2Only ? { digest: (b: Uint8Array) => createHash('sha256').update(b).digest().subarray(0, 20) } : {}),
    // The deadline is ours (below): its message counts the dials the fetcher never saw.
    timeout: Infinity,
    onBadPeer: (conn, why) => {
      const addr = live.get(conn)
      if (addr !== undefined) pool.ban(addr, why)
      conn.destroy(new ProtocolError(why))
    }
  })
  // uTP (BEP 29), dial-only: metadata peers are asked, never served. Under --utp-only without
  // utp-native the fetch fails at once with the reason.
  const utp = openSessionUtp(opts).catch((err: Error) => { fetcher.destroy(err); return undefined })
  /** Open connections and their addresses: bounded by the pool's connection cap. */
  const live = new Map<PeerConnection, PeerAddress>()
  /** Set once a v2-only info dict arrived without its piece layers: they come next. */
  let layers: LayerFetcher<PeerConnection> | undefined
  const answered = new Map<string, PeerAddress>()
  /** One entry per address the pool dialed: bounded by the pool's cap on known addresses. */
  const log: PeerLog = new Map()
  const pool = new PeerPool<PeerConnection>({
    maxPeers: opts.maxPeers ?? 30,
    maxHalfOpen: 8,
    maxRetries: Infinity,
    retryBaseMs: RETRY_BASE_MS,
    retryMaxMs: RETRY_MAX_MS,
    dial: async (addr, signal) => {
      const transport = await utp
      return await connect({ host: addr.host, port: addr.port, infoHash: magnet.infoHash, peerId, extensions: ourExtensions({}), signal, connectTimeout: 10_000, ...v2Handshake(magnet), ...(opts.encryption === undefined ? {} : { encryption: opts.encryption }), ...(transport === undefined ? {} : { utp: transport }), ...(opts.utp === undefined ? {} : { utpMode: opts.utp }) })
    }
  })
  pool.on('dial-error', (addr, err) => {
    log.set(formatPeer(addr), outcomeWords(classifyDialError(err)))
    checkHopeless()
  })
  pool.on('connection', (conn, addr) => {
    const key = formatPeer(addr)
    live.set(conn, addr)
    answered.set(key, addr)
    log.set(key, 'completed the handshake but sent no extension handshake (BEP 10)')
    layers?.addPeer(conn)
    conn.on('data', (m: unknown) => {
      const msg = m as Message
      if (msg.type === 'unknown') { layers?.onMessage(conn, msg.id, msg.payload); return }
      if (msg.type !== 'extended') return
      if (msg.id === 0) {
        // Its BEP 10 handshake: the fetcher uses the peer, or says why not.
        log.set(key, fetcher.addPeer(conn) ?? 'still asked, no valid answer yet')
        return
      }
      routeExtended(conn, msg.id, msg.payload, { fetcher })
    })
    conn.on('error', () => {})
    conn.on('close', () => {
      live.delete(conn)
      layers?.removePeer(conn)
      const did = fetcher.removePeer(conn)
      if (did !== undefined) log.set(key, did)
      else if (log.get(key)?.startsWith('completed the handshake') === true) log.set(key, 'closed the connection before its extension handshake (BEP 10)')
      pool.disconnected(addr, false)
      checkHopeless()
    })
  })

  const announcer = opts.trackers === false || announce.length === 0
    ? undefined
    : new Announcer({ infoHash: magnet.infoHash, peerId, port: opts.port ?? 6881, tiers: announce, getStats: () => ({ uploaded: 0, downloaded: 0, left: LEFT_UNKNOWN }) })
  announcer?.peers.on('data', (p: unknown) => pool.add(p as PeerAddress, 'tracker'))
  announcer?.start()
  const dht = opts.dht === true ? startDhtLookup(magnet.infoHash, opts, p => pool.add(p, 'dht')) : undefined
  // After the sources exist: checkHopeless asks whether any of them could name another peer.
  for (const p of [...magnet.peers, ...(opts.peers ?? [])]) pool.add(p, 'magnet')
  if (announcer === undefined && dht === undefined && magnet.peers.length === 0 && (opts.peers?.length ?? 0) === 0) {
    fetcher.destroy()
    pool.close()
    await (await utp)?.close()
    throw new DownloadError(`magnet ${magnet.infoHashHex}: no tracker, no peer and no DHT to ask for its metadata`)
  }

  /** Every peer was banned for lying and nothing can name another: waiting cannot help. */
  function checkHopeless (): void {
    if (fetcher.done || announcer !== undefined || dht !== undefined || !pool.exhausted) return
    fetcher.destroy(new DownloadError(`no valid metadata from any peer: ${summary(log, live, fetcher)}; no tracker or DHT to ask for other peers`))
  }

  const deadline = setTimeout(() => {
    fetcher.destroy(new DownloadError(`no metadata within ${duration(timeoutMs)}: ${summary(log, live, fetcher)}`))
    layers?.destroy(new DownloadError(`no piece layers within ${duration(timeoutMs)}: ${layers.describe()}`))
  }, timeoutMs)
  const onAbort = (): void => {
    fetcher.destroy(new DownloadError('metadata fetch aborted'))
    layers?.destroy(new DownloadError('metadata fetch aborted'))
  }
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  if (opts.signal?.aborted === true) onAbort()
  try {
    const infoBytes = await fetcher.metadata
    const meta = parseInfoDict(infoBytes, {
      announce,
      urlList: magnet.webSeeds,
      expectedInfoHash: magnet.infoHash,
      ...(magnet.infoHashV2 === undefined ? {} : { expectedInfoHashV2: magnet.infoHashV2 })
    }, { allowV2Only: true })
    if (meta.version !== 'v2' || meta.pieceLayersStatus !== 'missing') return { meta, peers: [...answered.values()] }
    // The connections carry the truncated v2 hash (a v2-only magnet's swarm id): where
    // libtorrent answers hash requests.
    const fetching = new LayerFetcher<PeerConnection>(meta, {
      send: (conn, id, payload) => { conn.write({ type: 'unknown', id, payload }) },
      onBadPeer: (conn, why) => {
        const addr = live.get(conn)
        if (addr !== undefined) pool.ban(addr, why)
        conn.destroy(new ProtocolError(why))
      }
    })
    layers = fetching
    for (const conn of live.keys()) fetching.addPeer(conn)
    if (opts.signal?.aborted === true) onAbort()
    return { meta: await fetching.done, peers: [...answered.values()] }
  } finally {
    clearTimeout(deadline)
    opts.signal?.removeEventListener('abort', onAbort)
    fetcher.destroy()
    layers?.destroy(new DownloadError('metadata fetch ended'))
    pool.close()
    for (const conn of live.keys()) conn.destroy()
    await Promise.all([announcer?.stop(), dht?.stop(), utp.then(t => t?.close())])
  }
}

/**
 * "1 peer refused the connection, 1 sent metadata that does not hash to the info hash": each
 * address once, by what it did last; connected peers by what the fetcher makes of them now.
 */
function summary (log: PeerLog, live: ReadonlyMap<PeerConnection, PeerAddress>, fetcher: MetadataFetcher<PeerConnection>): string {
  const now = new Map(log)
  for (const [conn, addr] of live) {
    const did = fetcher.describePeer(conn)
    if (did !== undefined) now.set(formatPeer(addr), did)
  }
  if (now.size === 0) return 'no peer found'
  const counts = new Map<string, number>()
  for (const words of now.values()) {
    const key = counts.has(words) || counts.size < MAX_REASONS ? words : 'failed for other reasons'
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return describeCounts([...counts].sort((a, b) => b[1] - a[1]))
}

function duration (ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}
