/**
 * Seeding a torrent we hold on disk: a listener for incoming peers, the trackers told we are here
 * (and their peers dialed), and the Seeder answering requests under the choker. What we serve is
 * what verified: the resume check decides, never a file's mere presence.
 */
import { openSessionUtp, type UtpOptions } from '../utp/session.js'
import type { UtpTransport } from '../utp/transport.js'
import type { EncryptionPolicy } from '../wire/connect.js'
import { RateLimiter } from '../util/rate-limiter.js'
import type { Metainfo } from '../metainfo/types.js'
import { Seeder } from '../seed/seeder.js'
import { PeerListener } from '../seed/listener.js'
import { checkExisting, type CheckProgress } from '../storage/check-existing.js'
import { FileStorage } from '../storage/file-storage.js'
import { resolveOutput, type OutputTarget } from '../storage/output-path.js'
import { Announcer, type AnnounceInfo, type TrackerFailure } from '../tracker/announcer.js'
import { StorageError } from '../util/errors.js'
import type { BitField } from '../wire/bitfield.js'
import type { PeerAddress } from '../swarm/peer-pool.js'
import { startDhtAnnounce, type DhtOptions } from './dht-source.js'
import { watchSeedStop } from './seed-stop.js'

export interface SeedOptions extends DhtOptions, UtpOptions {
  /** TCP port to listen on (default: any free port). */
  readonly port?: number
  /** Address to bind (default: every interface). */
  readonly host?: string
  /** Announce to the torrent's trackers (default true). */
  readonly trackers?: boolean
  readonly maxPeers?: number
  readonly onCheck?: (p: CheckProgress) => void
  /** Pieces known good already (a download that just verified them): no hashing again. */
  readonly have?: BitField
  readonly onTrackerError?: (f: TrackerFailure) => void
  /** A tracker answered (after a failure: it recovered), as the download modes report it. */
  readonly onAnnounce?: (info: AnnounceInfo) => void
  /** Peers to dial besides those the trackers return (leechers that never dial loopback, say). */
  readonly peers?: readonly PeerAddress[]
  /** Bytes per second to all peers together (undefined: no limit). */
  readonly maxUploadRate?: number
  /** Stop once we uploaded this many times the torrent's size (`--seed-ratio`). */
  readonly seedRatio?: number
  /** Stop after seeding this long (`--seed-time`). */
  readonly seedTimeMs?: number
  /** MSE/PE: what our listener accepts and how we dial (default 'prefer': both kinds). */
  readonly encryption?: EncryptionPolicy
  readonly signal?: AbortSignal
}

export interface SeedSession {
  readonly meta: Metainfo
  readonly port: number
  readonly have: BitField
  readonly seeder: Seeder
  /** Stop serving, tell the trackers `stopped` (bounded), close files and the listener. */
  close (): Promise<void>
  /**
   * Resolves with why seeding stopped by itself ('ratio' or 'time'), after the session closed;
   * never resolves without `seedRatio` / `seedTimeMs`, and not when `close()` came first.
   */
  readonly finished: Promise<'ratio' | 'time'>
}

/**
 * Verify what `path` holds, then seed it. Rejects when not one piece verifies.
 * @param path the payload itself (a single file, or the torrent's NAME directory: what
 *   `createTorrent` read) or the directory that holds it (output-path.ts); or a target from
 *   resolveOutput
 */
export async function seedFromDisk (meta: Metainfo, path: string | OutputTarget, opts: SeedOptions = {}): Promise<SeedSession> {
  const target = typeof path === 'string' ? await resolveOutput(meta, path, 'seed') : path
  const have = opts.have ?? await checkExisting(meta, target, undefined, opts.onCheck, { signal: opts.signal, links: 'follow-reads' })
  if (have.count() === 0) {
    throw new StorageError(`${target.payload}: no piece of "${meta.name}" verifies there; nothing to seed`)
  }
  // Seeding reads only, and serves only verified pieces: a user's symlinks are followed.
  const storage = await FileStorage.open(meta, target, { have, links: 'follow-reads' })
  const encryption = opts.encryption === undefined ? {} : { encryption: opts.encryption }
  const listener = new PeerListener({ port: opts.port, host: opts.host, ...encryption })
  const port = await listener.listen()
  let utp: UtpTransport | undefined
  try {
    // uTP (BEP 29) on the same port number, UDP: what we announce reaches both kinds of peer.
    utp = await openSessionUtp(opts, { listener, ...(opts.host === undefined ? {} : { host: opts.host }) })
  } catch (err) {
    await listener.close()
    await storage.close()
    throw err
  }
  let seeder!: Seeder
  const announcer = opts.trackers === false || meta.announce.length === 0
    ? undefined
    : new Announcer({ infoHash: meta.infoHash, peerId: listener.peerId, port, tiers: meta.announce, getStats: () => seeder.stats() })
  if (announcer !== undefined && opts.onTrackerError !== undefined) announcer.on('tracker-error', opts.onTrackerError)
  if (announcer !== undefined && opts.onAnnounce !== undefined) announcer.on('announce', opts.onAnnounce)
  const uploader = opts.maxUploadRate === undefined ? undefined : { rateLimiter: new RateLimiter(opts.maxUploadRate) }
  seeder = new Seeder({ meta, reader: storage, have, listener, announcer, maxPeers: opts.maxPeers, infoBytes: meta.infoBytes, ...encryption, ...(uploader === undefined ? {} : { uploader }), ...(utp === undefined ? {} : { utp }), ...(opts.utp === undefined ? {} : { utpMode: opts.utp }) })
  seeder.start()
  for (const addr of opts.peers ?? []) seeder.dialPeer(addr)
  // BEP 5: announce ourselves to the DHT as well (never for a private torrent, BEP 27).
  const dht = startDhtAnnounce(meta.infoHash, port, opts, meta.private)
  let closing: Promise<void> | undefined
  const shutdown = (): Promise<void> => (closing ??= (async () => {
    await Promise.all([seeder.close(), dht?.stop()])
    await listener.close()
    await utp?.close()
    await storage.close()
  })())
  const watch = watchSeedStop(opts, () => seeder.uploaded, meta.length, shutdown)
  const close = (): Promise<void> => { watch.cancel(); return shutdown() }
  return { meta, port, have, seeder, close, finished: watch.finished }
}
