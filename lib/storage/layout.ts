/**
 * Where each file of a torrent lives on disk, and which pieces a `--file` selection needs.
 *
 * Paths: a multi-file torrent's files go to `<out>/<TorrentFile.path>`; a single-file torrent is
 * written to exactly `<out>`. While a file is incomplete it lives under a temporary name, its final
 * name plus `.part` (more `.part` if the torrent itself has a file by that name), and is renamed
 * only once every piece touching it has been written (see file-storage.ts).
 *
 * Boundary pieces: a wanted piece that also covers bytes of an unselected file. Only the selected
 * files' parts go into those files; the whole piece is also kept in a side file
 * (`<out>/.bt-stream-<infohash>.parts`, one piece-sized slot per boundary piece, like libtorrent's
 * `.parts`) so a rerun can still verify the piece and the unselected file is never created.
 */
import { resolve, sep, dirname } from 'node:path'
import { filesInPiece, piecesForFile } from '../metainfo/geometry.js'
import type { Metainfo } from '../metainfo/types.js'
import { StorageError } from '../util/errors.js'
import { BitField } from '../wire/bitfield.js'
import { kindBelow } from './below-root.js'

export const PART_SUFFIX = '.part'

/**
 * Symbolic links below the root: a download (which writes, and reads to resume) never follows
 * one (below-root.ts). A seeder only reads, and serves only pieces whose SHA-1 matched, so
 * following a user's links (an album linked in from a library, as `create` follows them) can
 * leak nothing that is not the torrent's own data: `'follow-reads'`.
 */
export type LinkPolicy = 'refuse' | 'follow-reads'
// A storage opened with 'follow-reads' is read-only: it renames, creates and writes nothing.

export interface StorageLayout {
  readonly meta: Metainfo
  readonly links: LinkPolicy
  /** The directory nothing may be written outside of. */
  readonly root: string
  /** Absolute final path of each file; undefined for BEP 47 padding files. */
  readonly finals: readonly (string | undefined)[]
  /** Absolute temporary path of each file while it is incomplete. */
  readonly temps: readonly (string | undefined)[]
  /** Files the selection asked for (never a padding file). */
  readonly selected: readonly boolean[]
  /** Pieces touching a selected file with at least one byte. */
  readonly wanted: BitField
  /** Boundary piece index -> its slot in the side file. */
  readonly boundarySlots: ReadonlyMap<number, number>
  /** The side file for boundary pieces; undefined when there are none. */
  readonly sidePath: string | undefined
}

/**
 * @param out a directory for a multi-file torrent, the file's own path for a single-file one
 * @param selection indexes into `meta.files`; undefined selects every file
 */
export function planLayout (meta: Metainfo, out: string, selection?: readonly number[], links: LinkPolicy = 'refuse'): StorageLayout {
  const root = meta.multiFile ? resolve(out) : dirname(resolve(out))
  const finals = meta.files.map(f => {
    if (f.padding) return undefined
    if (!meta.multiFile) return resolve(out)
    return insideRoot(root, f.path)
  })
  const temps = tempNames(finals)
  const selected = meta.files.map(f => !f.padding && selection === undefined)
  for (const i of selection ?? []) {
    const f = meta.files[i]
    if (f === undefined || !Number.isInteger(i)) throw new RangeError(`file ${i} is out of range (0..${meta.files.length - 1})`)
    if (!f.padding) selected[i] = true
  }

  const wanted = new BitField(meta.pieceCount)
  meta.files.forEach((_, i) => {
    if (selected[i] !== true) return
    const span = piecesForFile(meta, i)
    if (span !== undefined) for (let p = span.first; p <= span.last; p++) wanted.set(p)
  })
  const boundarySlots = new Map<number, number>()
  for (const p of wanted.indexes()) {
    const foreign = filesInPiece(meta, p).some(s => selected[s.fileIndex] !== true && meta.files[s.fileIndex]?.padding !== true)
    if (foreign) boundarySlots.set(p, boundarySlots.size)
  }
  let sidePath: string | undefined
  if (boundarySlots.size > 0) {
    sidePath = sideFilePath(root, meta)
    if (finals.includes(sidePath) || temps.includes(sidePath)) throw new StorageError(`the torrent has a file named like bt-stream's side file ${JSON.stringify(sidePath)}`)
  }
  return { meta, links, root, finals, temps, selected, wanted, boundarySlots, sidePath }
}

/** Where a torrent's boundary pieces are kept (one per torrent and output directory). */
export function sideFilePath (root: string, meta: Metainfo): string {
  return resolve(root, `.bt-stream-${meta.infoHashHex}.parts`)
}

/** The absolute path of `relative` under `root`; throws if it would leave `root`. */
export function insideRoot (root: string, relative: string): string {
  const abs = resolve(root, relative)
  // TorrentFile.path is already safe (lib/metainfo/safe-path); this is the belt to its braces.
  if (!abs.startsWith(root.endsWith(sep) ? root : root + sep)) throw new StorageError(`refusing to write ${JSON.stringify(relative)}: it resolves outside ${JSON.stringify(root)}`)
  return abs
}

/** `name.part`, or `name.part.part`... when the torrent's own files already use that name. */
function tempNames (finals: readonly (string | undefined)[]): (string | undefined)[] {
  const taken = new Set<string>()
  for (const f of finals) {
    if (f === undefined) continue
    taken.add(f)
    for (let d = dirname(f); !taken.has(d) && d !== dirname(d); d = dirname(d)) taken.add(d)
  }
  return finals.map(f => {
    if (f === undefined) return undefined
    let t = f + PART_SUFFIX
    while (taken.has(t)) t += PART_SUFFIX
    taken.add(t)
    return t
  })
}

/**
 * Which name a file's bytes are under right now: the temporary name wins (it is ours, in
 * progress); otherwise the final name, when a regular file is there. A symbolic link under either
 * name, or at a directory between the root and them, throws SymlinkRefused: never followed.
 */
export async function locate (layout: StorageLayout, fileIndex: number, verb: 'read' | 'write' = 'read'): Promise<string | undefined> {
  const temp = layout.temps[fileIndex]
  const final = layout.finals[fileIndex]
  if (temp === undefined || final === undefined) return undefined
  const follow = layout.links === 'follow-reads'
  if (await kindBelow(layout.root, temp, verb, follow) === 'file') return temp
  if (await kindBelow(layout.root, final, verb, follow) === 'file') return final
  return undefined
}
