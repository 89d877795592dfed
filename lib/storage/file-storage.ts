/**
 * FileStorage: a torrent's files on disk (layout.ts says where). Pieces are written at their
 * offsets in any order; a piece spanning several files is split between them; BEP 47 padding
 * files are never written; only selected files are created.
 *
 * Incomplete marking: a file is written under its temporary name (`name.part`) and renamed to its
 * final name once every piece touching it is written (each write is a verified piece), after a
 * truncate to its exact length and an fsync. So a file under its final name is always complete,
 * and a crash at any moment leaves at worst `.part` files that `checkExisting` re-hashes.
 *
 * Opening reconciles the disk with `have` (what checkExisting verified): a selected file's part of
 * a verified piece that only the side file holds (an earlier, narrower selection fetched the
 * piece) is copied into the file; a complete file still under its temporary name (killed between
 * its last write and its rename) is renamed now; an incomplete file found under its final name
 * (someone else's, or a stale copy) is moved to its temporary name, keeping the bytes that
 * verified. A complete file never goes back to `.part`: one under its final name whose every
 * unverified piece could not be checked only for lack of another file's bytes (a narrower
 * selection finished it, and the side file is gone) keeps its name, and those pieces are fetched
 * into it.
 */
import { lstat, rename, rm } from 'node:fs/promises'
import { filesInPiece, filesInRange, pieceLengthAt, pieceSpanAt, piecesForFile } from '../metainfo/geometry.js'
import type { Metainfo } from '../metainfo/types.js'
import { StorageError } from '../util/errors.js'
import { BitField } from '../wire/bitfield.js'
import { kindBelow, openBelow } from './below-root.js'
import { FileHandles, DEFAULT_MAX_OPEN_FILES } from './file-handles.js'
import { FileWriter, type FileWriterOptions } from './file-writer.js'
import { locate, planLayout, type LinkPolicy, type StorageLayout } from './layout.js'
import type { OutputTarget } from './output-path.js'
import { SideFile } from './side-file.js'
import { checkRange, type Storage } from './storage.js'
import { errorCode, toStorageError } from './storage-error.js'

export interface FileStorageOptions {
  /** Indexes into `meta.files`; undefined selects every file. */
  readonly selection?: readonly number[]
  /** Pieces already verified on disk (checkExisting's answer); the rest are missing. */
  readonly have?: BitField
  readonly maxOpenFiles?: number
  /** Symbolic links below the root (default 'refuse'; a seeder may follow them to read). */
  readonly links?: LinkPolicy
  /** Bytes written to a file between background flushes (file-writer.ts); 0: none. */
  readonly flushBytes?: number
  /** Write the page-aligned middle of each run with O_DIRECT (direct-writes.ts); default true. */
  readonly directWrites?: boolean
}

export class FileStorage implements Storage {
  readonly layout: StorageLayout
  private readonly meta: Metainfo
  private readonly handles: FileHandles
  /** Every file write goes through it: one at a time per file, adjacent ones merged. */
  private readonly writer: FileWriter
  /** Pieces written (or verified before opening). */
  private readonly written: BitField
  /** Per file: where its bytes are now, and how many of its pieces are still missing. */
  private readonly current: (string | undefined)[]
  private readonly remaining: number[]
  private readonly inFlight = new Map<number, Promise<void>>()
  private closing: Promise<void> | undefined
  /** The side file's records (undefined for a single-file torrent); set by open. */
  private side: SideFile | undefined
  /** heldBytes' answers, asked while opening (a neighbour is looked at once). */
  private readonly held = new Map<number, Promise<number>>()

  private constructor (layout: StorageLayout, have: BitField, maxOpenFiles: number, writer: FileWriterOptions) {
    this.layout = layout
    this.meta = layout.meta
    this.handles = new FileHandles(layout.root, maxOpenFiles, layout.links === 'follow-reads')
    this.writer = new FileWriter(this.handles, writer)
    this.written = new BitField(this.meta.pieceCount, have.bytes.slice())
    this.current = layout.temps.slice()
    this.remaining = this.meta.files.map((_, i) => {
      if (layout.selected[i] !== true) return 0
      const span = piecesForFile(this.meta, i)
      let n = 0
      if (span !== undefined) for (let p = span.first; p <= span.last; p++) if (!this.written.has(p)) n++
      return n
    })
  }

  /**
   * @param out a target from resolveOutput, or a string read literally: the directory holding a
   *   multi-file torrent's NAME, the exact file path of a single-file one (output-path.ts)
   */
  static async open (meta: Metainfo, out: string | OutputTarget, opts: FileStorageOptions = {}): Promise<FileStorage> {
    const layout = planLayout(meta, out, opts.selection, opts.links)
    const storage = new FileStorage(layout, opts.have ?? new BitField(meta.pieceCount), opts.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES, {
      ...(opts.flushBytes === undefined ? {} : { flushBytes: opts.flushBytes }),
      ...(opts.directWrites === undefined ? {} : { direct: opts.directWrites })
    })
    try {
      if (layout.sidePath !== undefined) storage.side = await SideFile.open(layout.sidePath, meta, storage.handles)
      for (let i = 0; i < meta.files.length; i++) if (layout.selected[i] === true) await storage.reconcile(i)
    } catch (err) {
      await storage.close().catch(() => {})
      throw err
    }
    return storage
  }

  /** Every wanted piece is written and every selected file is under its final name. */
  get complete (): boolean {
    return this.remaining.every(n => n === 0) && this.meta.files.every((_, i) => this.layout.selected[i] !== true || this.current[i] === this.layout.finals[i])
  }

  /** Wanted pieces not written yet. */
  get missingPieces (): number {
    let n = 0
    for (const p of this.layout.wanted.indexes()) if (!this.written.has(p)) n++
    return n
  }

  async write (index: number, data: Uint8Array): Promise<void> {
    if (this.closing !== undefined) throw new StorageError(`cannot write piece ${index}: storage is closed`)
    if (this.layout.links === 'follow-reads') throw new StorageError(`cannot write piece ${index}: this storage only reads (seeding)`)
    const length = pieceLengthAt(this.meta, index)
    if (data.byteLength !== length) throw new RangeError(`piece ${index} is ${length} bytes, got ${data.byteLength}`)
    if (!this.layout.wanted.has(index)) throw new RangeError(`piece ${index} touches no selected file`)
    if (this.written.has(index)) return
    const pending = this.inFlight.get(index)
    if (pending !== undefined) { await pending; return }
    const job = this.writePiece(index, data)
    this.inFlight.set(index, job)
    try {
      await job
    } finally {
      this.inFlight.delete(index)
    }
  }

  async read (index: number, begin: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length)
    await this.readInto(index, begin, out)
    return out
  }

  /**
   * `into.length` bytes of piece `index` from `begin`, written into `into` (every byte of it):
   * what a reader that recycles its buffers calls (lib/seed/read-ahead.ts), so a seed does not
   * allocate 256 KiB per chunk it serves. Nothing writes into `into` once the promise settled.
   */
  async readInto (index: number, begin: number, into: Uint8Array): Promise<void> {
    const length = into.length
    if (this.closing !== undefined) throw new StorageError(`cannot read piece ${index}: storage is closed`)
    // BEP 52 v2-only: a peer may read a file's last block whole, into the padding (zeros).
    checkRange(index, begin, length, pieceSpanAt(this.meta, index))
    const start = index * this.meta.pieceLength + begin
    const spans = filesInRange(this.meta, Math.min(start, this.meta.length), Math.min(start + length, this.meta.length))
    // Every byte is read into `into` unless it is padding or past the end, which must read as
    // zeros (`into` may hold another read's bytes): only then is zeroing worth its cost.
    if (start + length > this.meta.length || spans.some(s => this.meta.files[s.fileIndex]?.padding === true)) into.fill(0)
    for (const s of spans) {
      const file = this.meta.files[s.fileIndex]
      if (file === undefined || file.padding) continue // BEP 47: padding reads as zeros
      const part = into.subarray(file.offset + s.fileOffset - start, file.offset + s.fileOffset - start + s.length)
      // The side file holds what a file does not: a boundary piece's part of an unselected file,
      // or (a seeder after a `--file` download) of a file never fetched.
      const fromSide = async (): Promise<boolean> => await (this.side?.read(index, begin + (part.byteOffset - into.byteOffset), part) ?? false)
      if (this.layout.selected[s.fileIndex] === true) {
        try {
          await this.readAt(this.current[s.fileIndex] as string, part, s.fileOffset)
        } catch (err) {
          if (!isMissingBytes(err) || !await fromSide()) throw err
        }
      } else if (!await fromSide()) {
        throw new StorageError(`cannot read piece ${index}: file ${JSON.stringify(file.path)} is not selected`)
      }
    }
  }

  /** Waits for writes in flight, fsyncs what was written and closes every file. Idempotent. */
  async close (): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inFlight.values()])
      try {
        // A background flush's failure is the file's (file-writer.ts); the handles still close.
        await this.writer.settleAll().finally(async () => await this.handles.closeAll(true))
      } catch (err) {
        throw toStorageError('close', this.layout.root, err)
      }
      // The side file is stale once every file of the torrent is complete: nothing in it can
      // be needed by any selection.
      const everyFile = this.meta.files.every((f, i) => f.padding || this.layout.selected[i] === true)
      if (this.side !== undefined && this.layout.links === 'refuse' && everyFile && this.complete) {
        await rm(this.side.path, { force: true }).catch(() => {})
      }
    })()
    await this.closing
  }

  private async writePiece (index: number, data: Uint8Array): Promise<void> {
    const touched: number[] = []
    // One file at a time: a piece of many tiny files must not open them all at once (EMFILE).
    for (const s of filesInPiece(this.meta, index)) {
      if (this.layout.selected[s.fileIndex] !== true) continue
      const file = this.meta.files[s.fileIndex] as Metainfo['files'][number]
      const from = file.offset + s.fileOffset - index * this.meta.pieceLength
      touched.push(s.fileIndex)
      await this.writeAt(this.current[s.fileIndex] as string, data.subarray(from, from + s.length), s.fileOffset)
    }
    if (this.layout.boundary.has(index)) {
      if (this.side === undefined) throw new StorageError(`cannot keep boundary piece ${index}: no side file`)
      await this.side.write(index, data)
    }
    this.written.set(index)
    for (const i of touched) {
      this.remaining[i] = (this.remaining[i] as number) - 1
      if (this.remaining[i] === 0) await this.finish(i)
    }
  }

  /** Brings file `i` on disk in line with the pieces known to be written (see the header). */
  private async reconcile (i: number): Promise<void> {
    const file = this.meta.files[i] as Metainfo['files'][number]
    const final = this.layout.finals[i] as string
    const temp = this.layout.temps[i] as string
    if (this.layout.links === 'follow-reads') {
      // A seeder's storage: it reads what is there, under whichever name, and changes nothing.
      this.current[i] = (await locate(this.layout, i, 'read')) ?? final
      return
    }
    // Fail now rather than after the whole download: a directory cannot become this file, and a
    // symlink under our names, or at any directory between the root and them, could send the
    // bytes outside the output root (kindBelow throws SymlinkRefused for those). Nothing is
    // renamed or created before both names passed.
    for (const path of [final, temp]) {
      if (await kindBelow(this.layout.root, path, 'write') !== 'other') continue
      const st = await lstat(path)
      throw new StorageError(`cannot use ${JSON.stringify(path)}: ${st.isDirectory() ? 'a directory is in the way (EISDIR)' : 'it is not a regular file'}`)
    }
    if (file.length === 0) {
      try {
        await (await openBelow(this.layout.root, final, 'create')).close()
      } catch (err) {
        throw toStorageError('create', final, err)
      }
      this.current[i] = final
      return
    }
    const where = await this.fillFromSide(i, await locate(this.layout, i, 'write'))
    if (this.remaining[i] === 0) {
      if (where === undefined) throw new StorageError(`${JSON.stringify(final)} is missing although its pieces verified`)
      this.current[i] = where
      await this.finish(i)
    } else if (where === final) {
      if (await this.onlyNeighboursMissing(i)) {
        this.current[i] = final
        return
      }
      await this.moveToTemp(i)
    }
  }

  /**
   * Copies into file `i` its part of every verified piece whose bytes only the side file holds
   * (the file is absent or ends before them): checkExisting verified the piece with exactly those
   * bytes. A file under its final name that lacks bytes is not complete: it moves to `.part`
   * first. Returns where the file's bytes are now.
   */
  private async fillFromSide (i: number, where: string | undefined): Promise<string | undefined> {
    const side = this.side
    const span = piecesForFile(this.meta, i)
    if (side === undefined || span === undefined) return where
    let recorded = false
    for (let p = span.first; p <= span.last && !recorded; p++) recorded = this.written.has(p) && side.has(p)
    if (!recorded) return where
    const held = where === undefined ? 0 : (await lstat(where)).size
    const fills: Array<{ piece: number, at: number, fileOffset: number, length: number }> = []
    for (let p = span.first; p <= span.last; p++) {
      if (!this.written.has(p) || !side.has(p)) continue
      const s = filesInPiece(this.meta, p).find(x => x.fileIndex === i)
      if (s === undefined || s.fileOffset + s.length <= held) continue
      const file = this.meta.files[i] as Metainfo['files'][number]
      fills.push({ piece: p, at: file.offset + s.fileOffset - p * this.meta.pieceLength, fileOffset: s.fileOffset, length: s.length })
    }
    if (fills.length === 0) return where
    if (where === this.layout.finals[i]) await this.moveToTemp(i)
    const temp = this.layout.temps[i] as string
    for (const f of fills) {
      const bytes = new Uint8Array(f.length)
      if (!await side.read(f.piece, f.at, bytes)) throw new StorageError(`cannot read piece ${f.piece} from ${JSON.stringify(side.path)}: it ends early`)
      await this.writeAt(temp, bytes, f.fileOffset)
    }
    return temp
  }

  /**
   * Whether each piece of file `i` that did not verify lacks another file's bytes (that file
   * absent or too short, the side file without the piece): it could not be checked, which says
   * nothing against file `i`. At least one piece of `i` must have verified: some evidence that
   * the file under the final name is this torrent's.
   */
  private async onlyNeighboursMissing (i: number): Promise<boolean> {
    const span = piecesForFile(this.meta, i)
    if (span === undefined) return false
    let verified = 0
    for (let p = span.first; p <= span.last; p++) {
      if (this.written.has(p)) { verified++; continue }
      if (this.side?.has(p) === true) return false
      let blocked = false
      for (const s of filesInPiece(this.meta, p)) {
        if (s.fileIndex === i || this.meta.files[s.fileIndex]?.padding === true) continue
        if (await this.heldBytes(s.fileIndex) < s.fileOffset + s.length) { blocked = true; break }
      }
      if (!blocked) return false
    }
    return verified > 0
  }

  /** How many bytes of file `j` are on disk, under either name (0 if absent or behind a symlink). */
  private async heldBytes (j: number): Promise<number> {
    let held = this.held.get(j)
    if (held === undefined) {
      held = locate(this.layout, j, 'read').then(async where => where === undefined ? 0 : (await lstat(where)).size).catch(() => 0)
      this.held.set(j, held)
    }
    return await held
  }

  private async moveToTemp (i: number): Promise<void> {
    const final = this.layout.finals[i] as string
    try {
      await rename(final, this.layout.temps[i] as string)
    } catch (err) {
      throw toStorageError('rename', final, err)
    }
  }

  /** Exact length, fsync, close, then the final name: only now does the file look done. */
  private async finish (i: number): Promise<void> {
    const file = this.meta.files[i] as Metainfo['files'][number]
    const final = this.layout.finals[i] as string
    const path = this.current[i] as string
    try {
      await this.writer.settle(path)
      // Through the handle (opened O_NOFOLLOW), not stat(path), which would follow a symlink.
      await this.handles.use(path, true, async fh => { if ((await fh.stat()).size !== file.length) await fh.truncate(file.length) })
      await this.handles.close(path, true)
      if (path !== final) await rename(path, final)
    } catch (err) {
      throw toStorageError('finish', path === final ? final : `${path} -> ${final}`, err)
    }
    this.current[i] = final
  }

  private async writeAt (path: string, data: Uint8Array, position: number): Promise<void> {
    try {
      await this.writer.write(path, data, position)
    } catch (err) {
      throw toStorageError('write', path, err)
    }
  }

  private async readAt (path: string, into: Uint8Array, position: number): Promise<void> {
    try {
      await this.handles.use(path, false, async fh => {
        let done = 0
        while (done < into.byteLength) {
          const { bytesRead } = await fh.read(into, done, into.byteLength - done, position + done)
          if (bytesRead === 0) throw new EndsEarly(`cannot read ${JSON.stringify(path)}: it ends before byte ${position + into.byteLength}`)
          done += bytesRead
        }
      })
    } catch (err) {
      throw toStorageError('read', path, err)
    }
  }
}

/** A read that failed because the file is absent or shorter than asked (not an I/O error). */
function isMissingBytes (err: unknown): boolean {
  return err instanceof EndsEarly || errorCode(err instanceof StorageError ? err.cause : err) === 'ENOENT'
}

/** A file shorter than a read needs. */
class EndsEarly extends StorageError {}
