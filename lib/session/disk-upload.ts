/**
 * Disk mode uploads while it downloads: a listener for peers that dial us (their connections join
 * the same swarm as the ones we dial), the upload side serving every peer from our storage, and
 * our pieces announced as they land on disk. The stdout mode keeps no pieces and has none of this.
 *
 * With `keepSeeding` (serve) the swarm goes on as a seed once complete (lib/swarm/seed-mode.ts):
 * the download's storage closes when its last piece is written (files renamed from `.part`), so
 * from then on the upload side reads from a read-only storage over the same files.
 */
import type { EncryptionPolicy } from '../wire/connect.js'
import { RateLimiter } from '../util/rate-limiter.js'
import type { Metainfo } from '../metainfo/types.js'
import { uploadGeometry } from '../metainfo/geometry.js'
import { PeerListener } from '../seed/listener.js'
import type { PieceReader } from '../seed/uploader.js'
import type { DiskSink } from '../storage/disk-sink.js'
import { FileStorage } from '../storage/file-storage.js'
import { BitField } from '../wire/bitfield.js'
import type { Swarm } from '../swarm/swarm.js'
import { UploadSide } from '../swarm/upload-side.js'
import { dialExtensions, wirePeer } from '../swarm/wire-peer.js'

export interface DiskUploadOptions {
  readonly peerId: Uint8Array
  /** TCP port to accept peers on (default: any free port). */
  readonly port?: number
  /** Address to bind (default: every interface; tests use 127.0.0.1). */
  readonly host?: string
  /** Accept incoming peers (default true); dialed peers are served either way. */
  readonly listen?: boolean
  /** Bytes per second to all peers together (undefined: no limit). */
  readonly maxUploadRate?: number
  readonly encryption?: EncryptionPolicy
  /** The swarm seeds once complete: serve from a read-only storage after the download's closed. */
  readonly keepSeeding?: boolean
}

export interface DiskUpload {
  readonly side: UploadSide
  /** Our pieces on disk: what we send as our bitfield and serve. */
  readonly have: BitField
  /** The port we listen on, undefined when not listening. */
  readonly port: number | undefined
  /** The listener (undefined when not listening): a uTP transport on its port number attaches to it. */
  readonly listener: PeerListener | undefined
  /** Incoming peers join `swarm`; pieces `sink` writes become ours. */
  attach (swarm: Swarm, sink: DiskSink): void
  /** Stop accepting peers (the swarm closes the open connections). Idempotent. */
  close (): Promise<void>
}

/** Binds the listener (rejects when the port is taken) and builds the upload side over `storage`. */
export async function openDiskUpload (meta: Metainfo, storage: FileStorage, verified: BitField, opts: DiskUploadOptions): Promise<DiskUpload> {
  // A copy: the picker and the storage read the resume check's answer; this one grows with writes.
  const have = new BitField(meta.pieceCount, verified.bytes.slice())
  const listener = opts.listen === false ? undefined : new PeerListener({ port: opts.port, host: opts.host, peerId: opts.peerId, ...(opts.encryption === undefined ? {} : { encryption: opts.encryption }) })
  const port = listener === undefined ? undefined : await listener.listen()
  let swarm: Swarm | undefined
  const uploader = opts.maxUploadRate === undefined ? undefined : { rateLimiter: new RateLimiter(opts.maxUploadRate) }
  const reader = new UploadReader(storage)
  const side = new UploadSide({ reader, have, geometry: uploadGeometry(meta), complete: () => swarm?.picker.complete === true, ...(uploader === undefined ? {} : { uploader }) })
  let closing: Promise<void> | undefined
  return {
    side,
    have,
    port,
    listener,
    attach (s, sink) {
      swarm = s
      sink.on('written', index => { side.pieceWritten(index) })
      if (opts.keepSeeding === true) {
        // The sink ends when the last piece is in, and closes the storage: reads wait for the next one.
        s.once('complete', () => {
          reader.switchTo(new Promise<PieceReader>((resolve, reject) => {
            sink.once('error', reject)
            sink.once('close', () => { reject(new Error('the download stopped before its files were complete')) })
            sink.once('finish', () => {
              const { root, payload, selected } = storage.layout
              const selection = selected.flatMap((on, i) => on ? [i] : [])
              resolve(FileStorage.open(meta, { root, payload }, { have, selection, links: 'follow-reads' }))
            })
          }))
        })
      }
      side.start()
      if (listener === undefined) return
      listener.serve(meta.infoHashHex, { pieceCount: meta.pieceCount, have, extensions: dialExtensions({ meta, peerId: opts.peerId, have, listenPort: port }) })
      listener.on('peer', (conn, hex, remote) => {
        if (hex !== meta.infoHashHex || remote === undefined) { conn.destroy(); return }
        s.addIncoming(wirePeer(conn), remote)
      })
    },
    close: () => (closing ??= (async () => {
      side.stop()
      await listener?.close()
      await reader.close()
    })())
  }
}

/**
 * What the upload side reads from: the download's storage, then (seeding on) the read-only one
 * that replaces it. A read that failed while the first closed is tried once on the second.
 */
class UploadReader implements PieceReader {
  private current: Promise<PieceReader>
  private replaced: Promise<PieceReader> | undefined

  constructor (storage: PieceReader) {
    this.current = Promise.resolve(storage)
  }

  switchTo (next: Promise<PieceReader>): void {
    next.catch(() => {})
    this.replaced = next
    this.current = next
  }

  async read (index: number, begin: number, length: number): Promise<Uint8Array> {
    return await this.retried(async r => await r.read(index, begin, length))
  }

  /** As `read`, into the caller's buffer (the read-ahead reuses its chunks' buffers). */
  async readInto (index: number, begin: number, into: Uint8Array): Promise<void> {
    await this.retried(async r => { await readInto(r, index, begin, into) })
  }

  /** `op` on the current reader; failed while that one closed: once more on its replacement. */
  private async retried<T> (op: (r: PieceReader) => Promise<T>): Promise<T> {
    const r = await this.current
    try {
      return await op(r)
    } catch (err) {
      const next = this.replaced === undefined ? undefined : await this.replaced
      if (next === undefined || next === r) throw err
      return await op(next)
    }
  }

  /** Closes the storage this reader opened (the download's own is the sink's to close). */
  async close (): Promise<void> {
    const r = await this.replaced?.catch(() => undefined)
    if (r instanceof FileStorage) await r.close().catch(() => {})
  }
}

async function readInto (r: PieceReader, index: number, begin: number, into: Uint8Array): Promise<void> {
  if (r.readInto !== undefined) { await r.readInto(index, begin, into); return }
  const bytes = await r.read(index, begin, into.length)
  if (bytes.length !== into.length) throw new RangeError(`read of piece ${index} ${begin}+${into.length} returned ${bytes.length} bytes`)
  into.set(bytes)
}
