/**
 * The side file (`<root>/.bt-stream-<infohash>.parts`): whole boundary pieces, kept so a piece that
 * also covers an unselected file can still be verified on a rerun, and its bytes handed to that
 * file if a later run selects it (layout.ts says which pieces are boundary pieces).
 *
 * Format: a sequence of records, each `RECORD_HEADER` bytes then one piece-length slot:
 *
 *   <magic "btp1"><piece index: uint32 big-endian><piece bytes, pieceLength at most>
 *
 * Each record names its own piece, so the file describes itself: a run with another `--file`
 * selection finds the pieces an earlier one kept (and appends its own after them) instead of
 * reading slot numbers that meant something else. Nothing here is trusted: whatever is read from
 * a record is hashed before it counts (check-existing.ts), so a record torn by a crash, or a side
 * file in an older layout, costs a re-download of those pieces, never wrong data.
 */
import type { FileHandle } from 'node:fs/promises'
import type { Metainfo } from '../metainfo/types.js'
import { kindBelow } from './below-root.js'
import type { FileHandles } from './file-handles.js'
import { toStorageError } from './storage-error.js'

const MAGIC = Buffer.from('btp1', 'latin1')
/** 4 bytes of magic, 4 of piece index. */
export const RECORD_HEADER = 8

/** Piece index -> record number, for the records the file holds. */
export type SideIndex = Map<number, number>

export class SideFile {
  readonly path: string
  private readonly meta: Metainfo
  private readonly handles: FileHandles
  private readonly index: SideIndex
  /** Records in the file, valid or not: where the next one goes. */
  private records: number

  private constructor (path: string, meta: Metainfo, handles: FileHandles, index: SideIndex, records: number) {
    this.path = path
    this.meta = meta
    this.handles = handles
    this.index = index
    this.records = records
  }

  /**
   * Reads the record headers of the side file at `path` (absent: no records). `handles` decides
   * whether a symbolic link there is followed (a seeder) or refused (a download).
   */
  static async open (path: string, meta: Metainfo, handles: FileHandles): Promise<SideFile> {
    const index: SideIndex = new Map()
    let records = 0
    if (await kindBelow(handles.root, path, 'read', handles.followsReads) === 'file') {
      try {
        records = await handles.use(path, false, async fh => await readHeaders(fh, meta, index))
      } catch (err) {
        throw toStorageError('read', path, err)
      }
    }
    return new SideFile(path, meta, handles, index, records)
  }

  /** Whether a record for piece `index` exists (its bytes are not verified by this). */
  has (index: number): boolean {
    return this.index.has(index)
  }

  /** Pieces with a record. */
  pieces (): IterableIterator<number> {
    return this.index.keys()
  }

  /** Reads `into.byteLength` bytes of piece `index` from `begin`; false when there is no such record or it is cut short. */
  async read (index: number, begin: number, into: Uint8Array): Promise<boolean> {
    const record = this.index.get(index)
    if (record === undefined) return false
    const at = this.recordOffset(record) + RECORD_HEADER + begin
    try {
      return await this.handles.use(this.path, false, async fh => await readFully(fh, into, at))
    } catch (err) {
      throw toStorageError('read', this.path, err)
    }
  }

  /** Keeps piece `index` (verified): in its existing record, or a new one at the end. */
  async write (index: number, data: Uint8Array): Promise<void> {
    let record = this.index.get(index)
    if (record === undefined) {
      record = this.records++
      this.index.set(index, record)
    }
    const buf = Buffer.allocUnsafe(RECORD_HEADER + data.byteLength)
    MAGIC.copy(buf, 0)
    buf.writeUInt32BE(index, MAGIC.byteLength)
    buf.set(data, RECORD_HEADER)
    const at = this.recordOffset(record)
    try {
      await this.handles.use(this.path, true, async fh => {
        let done = 0
        while (done < buf.byteLength) {
          const { bytesWritten } = await fh.write(buf, done, buf.byteLength - done, at + done)
          if (bytesWritten === 0) throw new Error('write made no progress')
          done += bytesWritten
        }
      })
    } catch (err) {
      throw toStorageError('write', this.path, err)
    }
  }

  private recordOffset (record: number): number {
    return record * (RECORD_HEADER + this.meta.pieceLength)
  }
}

/** Fills `index` from the headers; returns how many records (whole or cut short) the file holds. */
async function readHeaders (fh: FileHandle, meta: Metainfo, index: SideIndex): Promise<number> {
  const size = (await fh.stat()).size
  const recordSize = RECORD_HEADER + meta.pieceLength
  const records = Math.ceil(size / recordSize)
  const header = Buffer.alloc(RECORD_HEADER)
  for (let r = 0; r < records; r++) {
    if (!await readFully(fh, header, r * recordSize)) continue
    if (!header.subarray(0, MAGIC.byteLength).equals(MAGIC)) continue
    const piece = header.readUInt32BE(MAGIC.byteLength)
    if (piece < meta.pieceCount && !index.has(piece)) index.set(piece, r)
  }
  return records
}

/** False when the file ends before `into` is full. */
export async function readFully (fh: FileHandle, into: Uint8Array, position: number): Promise<boolean> {
  let done = 0
  while (done < into.byteLength) {
    const { bytesRead } = await fh.read(into, done, into.byteLength - done, position + done)
    if (bytesRead === 0) return false
    done += bytesRead
  }
  return true
}
