/**
 * A magnet link's metadata (BEP 9): peers from the magnet's `x.pe`, its trackers (`tr`) and the
 * DHT are dialed, those offering `ut_metadata` are asked for the info dict in 16 KiB pieces, and
 * the assembled bytes must hash to the magnet's info hash. The result is a Metainfo as good as a
 * .torrent's, plus the peers that answered, so the download can start with them at once.
 */
import type { Magnet } from '../magnet/parse.js'
import { parseInfoDict } from '../metainfo/parse.js'
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
import { startDhtLookup, type DhtOptions } from './dht-source.js'

export interface MagnetMetadataOptions extends DhtOptions {
  /** Peers to ask besides the magnet's own `x.pe`. */
  readonly peers?: readonly PeerAddress[]
  /** Ask the magnet's trackers (default true). */
  readonly trackers?: boolean
  readonly peerId?: Uint8Array
  /** Give up after this long without valid metadata (default 120 s). */
  readonly timeoutMs?: number
  readonly maxPeers?: number
  readonly signal?: AbortSignal
}

export interface MagnetMetadata {
  readonly meta: Metainfo
  /** Peers that completed a handshake: good first candidates for the download. */
  readonly peers: PeerAddress[]
}

export async function fetchMagnetMetadata (magnet: Magnet, opts: MagnetMetadataOptions = {}): Promise<MagnetMetadata> {
  const peerId = opts.peerId ?? generatePeerId()
  const announce = magnet.trackers.map(t => [t])
  const fetcher = new MetadataFetcher<PeerConnection>({
    infoHash: magnet.infoHash,
    timeout: opts.timeoutMs,
    onBadPeer: (conn, why) => { pool.ban(addrOf.get(conn) ?? { host: '?', port: 0 }, why); conn.destroy(new ProtocolError(why)) }
  })
  const addrOf = new Map<PeerConnection, PeerAddress>()
  const answered = new Map<string, PeerAddress>()
  const pool = new PeerPool<PeerConnection>({
    maxPeers: opts.maxPeers ?? 30,
    maxHalfOpen: 8,
    maxRetries: 1,
    retryBaseMs: 2000,
    dial: (addr, signal) => connect({ host: addr.host, port: addr.port, infoHash: magnet.infoHash, peerId, extensions: ourExtensions({}), signal, connectTimeout: 10_000 })
  })
  pool.on('connection', (conn, addr) => {
    addrOf.set(conn, addr)
    answered.set(formatPeer(addr), addr)
    conn.on('data', (m: unknown) => {
      const msg = m as Message
      if (msg.type === 'extended') routeExtended(conn, msg.id, msg.payload, { fetcher })
    })
    conn.on('error', () => {})
    conn.on('close', () => { fetcher.removePeer(conn); pool.disconnected(addr, false) })
  })
  for (const p of [...magnet.peers, ...(opts.peers ?? [])]) pool.add(p, 'magnet')

  const announcer = opts.trackers === false || announce.length === 0
    ? undefined
    : new Announcer({ infoHash: magnet.infoHash, peerId, port: 6881, tiers: announce, getStats: () => ({ uploaded: 0, downloaded: 0, left: 0 }) })
  announcer?.peers.on('data', (p: unknown) => pool.add(p as PeerAddress, 'tracker'))
  announcer?.start()
  const dht = opts.dht === true ? startDhtLookup(magnet.infoHash, opts, p => pool.add(p, 'dht')) : undefined
  if (announcer === undefined && dht === undefined && magnet.peers.length === 0 && (opts.peers?.length ?? 0) === 0) {
    pool.close()
    throw new DownloadError(`magnet ${magnet.infoHashHex}: no tracker, no peer and no DHT to ask for its metadata`)
  }
  const onAbort = (): void => fetcher.destroy(new DownloadError('metadata fetch aborted'))
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const infoBytes = await fetcher.metadata
    const meta = parseInfoDict(infoBytes, { announce, urlList: magnet.webSeeds, expectedInfoHash: magnet.infoHash })
    return { meta, peers: [...answered.values()] }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
    fetcher.destroy()
    pool.close()
    for (const conn of addrOf.keys()) conn.destroy()
    await Promise.all([announcer?.stop(), dht?.stop()])
  }
}
