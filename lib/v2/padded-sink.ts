/**
 * A v2-only torrent's pieces into the torrent's byte stream (stdout). BEP 52 pieces end with
 * their file, so the piece before a padding entry arrives short; the byte stream (what
 * `--range`, `--tar` and the selections count in) still has the padding's bytes there, as a
 * hybrid's BEP 47 padding files do. This fills them with zeros, for those pieces only: the copy
 * is one piece per file, never the torrent's last piece (nothing follows it).
 */
import type { Metainfo } from '../metainfo/types.js'
import type { VerifiedPiece } from '../output/merging-writable.js'
import type { PieceSink } from '../swarm/types.js'
import { canStreamPrefix } from './block-streamer.js'

export function paddedSink (meta: Pick<Metainfo, 'version' | 'pieceLength' | 'pieceCount'>, sink: PieceSink): PieceSink {
  if (meta.version !== 'v2') return sink
  // A verified prefix (BEP 52 block streaming) is the piece's own first bytes: no padding in it.
  const prefix = canStreamPrefix(sink) ? { writePrefix: sink.writePrefix.bind(sink) } : {}
  return {
    ...prefix,
    write (piece: VerifiedPiece): boolean {
      const short = piece.index < meta.pieceCount - 1 && piece.data.byteLength < meta.pieceLength
      if (!short) return sink.write(piece)
      const full = Buffer.alloc(meta.pieceLength)
      full.set(piece.data)
      return sink.write({ index: piece.index, data: full })
    },
    end: (data?: unknown) => sink.end(data),
    destroy: (err?: Error) => { sink.destroy(err) }
  }
}
