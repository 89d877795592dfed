/**
 * Seeding a torrent we hold on disk: a listener for incoming peers, the trackers told we are here
 * (and their peers dialed), and the Seeder answering requests under the choker. What we serve is
 * what verified: the resume check decides, never a file's mere presence.
 */
import type { Metainfo } from '../metainfo/types.js'
import { Seeder } from '../seed/seeder.js'
import { PeerListener } from '../seed/listener.js'
import { checkExisting, type CheckProgress } from '../storage/check-existing.js'
import { FileStorage } from '../storage/file-storage.js'
import { Announcer, type TrackerFailure } from '../tracker/announcer.js'
import { StorageError } from '../util/errors.js'
import type { BitField } from '../wire/bitfield.js'
import { startDhtAnnounce, type DhtOptions } from './dht-source.js'

export interface SeedOptions extends DhtOptions {
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
  readonly signal?: AbortSignal
}

export interface SeedSession {
  readonly meta: Metainfo
  readonly port: number
  readonly have: BitField
  readonly seeder: Seeder
  /** Stop serving, tell the trackers `stopped` (bounded), close files and the listener. */
  close (): Promise<void>
}

/** Verify what `path` holds, then seed it. Rejects when not one piece verifies. */
export async function seedFromDisk (meta: Metainfo, path: string, opts: SeedOptions = {}): Promise<SeedSession> {
  const have = opts.have ?? await checkExisting(meta, path, undefined, opts.onCheck, { signal: opts.signal, links: 'follow-reads' })
  if (have.count() === 0) {
    throw new StorageError(`${path}: no piece of "${meta.name}" verifies there; nothing to seed`)
  }
  // Seeding reads only, and serves only verified pieces: a user's symlinks are followed.
  const storage = await FileStorage.open(meta, path, { have, links: 'follow-reads' })
  const listener = new PeerListener({ port: opts.port, host: opts.host })
  const port = await listener.listen()
  let seeder!: Seeder
  const announcer = opts.trackers === false || meta.announce.length === 0
    ? undefined
    : new Announcer({ infoHash: meta.infoHash, peerId: listener.peerId, port, tiers: meta.announce, getStats: () => seeder.stats() })
  if (announcer !== undefined && opts.onTrackerError !== undefined) announcer.on('tracker-error', opts.onTrackerError)
  seeder = new Seeder({ meta, reader: storage, have, listener, announcer, maxPeers: opts.maxPeers, infoBytes: meta.infoBytes })
  seeder.start()
  // BEP 5: announce ourselves to the DHT as well (never for a private torrent, BEP 27).
  const dht = startDhtAnnounce(meta.infoHash, port, opts, meta.private)
  let closing: Promise<void> | undefined
  return {
    meta,
    port,
    have,
    seeder,
    close: () => (closing ??= (async () => {
      await Promise.all([seeder.close(), dht?.stop()])
      await listener.close()
      await storage.close()
    })())
  }
}
