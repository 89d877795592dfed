/**
 * What a user's PATH means, one rule for `-o PATH` (downloadToDisk) and `seed x.torrent PATH`
 * (seedFromDisk). NAME is the torrent's name (its first path component, made safe).
 *
 *   PATH is                 single-file torrent        multi-file torrent
 *   an existing directory   PATH/NAME                  PATH/NAME/..., unless PATH is the payload
 *                                                      itself (below)
 *   an existing file        PATH (the file itself)     refused: a multi-file torrent needs a
 *                                                      directory
 *   nothing                 PATH (the file's own       PATH/NAME/... (created)
 *                           path), or PATH/NAME when
 *                           PATH ends in '/'
 *
 * The payload itself: a directory PATH where none of the torrent's files is found below PATH/NAME
 * but one is found directly (`PATH/a.bin` for the torrent's `NAME/a.bin`, under its own or its
 * `.part` name) is taken as the NAME directory, under whatever name: it is what
 * `bt-stream create PATH` read. Looking for files rather than for a PATH/NAME entry keeps a torrent
 * with a NAME/NAME/ folder of its own right. A seeder only reads, so any such directory will do;
 * a download writes (and moves an incomplete file to `.part`), so it takes a directory as the
 * payload only when it is also named NAME, never `~/Downloads` because it happens to hold a
 * `README.txt` like the torrent's.
 *
 * Resume: the first run of a download creates what makes the later runs resolve the same way
 * (PATH/NAME for a directory; PATH.part, then PATH, for a single file's own path).
 */
import type { Stats } from 'node:fs'
import { lstat, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve, sep } from 'node:path'
import type { Metainfo } from '../metainfo/types.js'
import { StorageError } from '../util/errors.js'
import { errorCode, toStorageError } from './storage-error.js'
import { PART_SUFFIX } from './layout.js'

/**
 * How many of a multi-file torrent's files are looked for directly in PATH before deciding it is
 * not the payload: enough that a partial copy is found (one file suffices), few enough that a
 * 100 000-file torrent does not cost 200 000 stat calls for a directory that merely holds NAME.
 */
const MAX_FILES_PROBED = 1000

/** Where a torrent's data lives on disk. */
export interface OutputTarget {
  /** The directory nothing is written outside of (symbolic links below it are refused). */
  readonly root: string
  /**
   * A single-file torrent's file; a multi-file torrent's NAME directory (or what stands in for
   * it), under which the torrent's paths go without their NAME component.
   */
  readonly payload: string
}

export type OutputPurpose = 'download' | 'seed'

/**
 * PATH as the table above reads it.
 * @param purpose 'seed' also takes a directory under another name than NAME as the payload
 */
export async function resolveOutput (meta: Metainfo, path: string, purpose: OutputPurpose = 'download'): Promise<OutputTarget> {
  const abs = resolve(path)
  const name = torrentName(meta)
  // stat, not lstat: PATH is the user's choice and may be a symlink to where they keep things.
  const st = await statOrUndefined(abs, purpose)
  const holder: OutputTarget = { root: abs, payload: join(abs, name) }
  if (!meta.multiFile) {
    if (st?.isDirectory() === true || (st === undefined && endsWithSeparator(path))) return holder
    return outputAt(meta, abs)
  }
  if (st === undefined) return holder
  if (!st.isDirectory()) throw new StorageError(`${JSON.stringify(abs)} is a file; "${meta.name}" has several files and needs a directory`)
  if (purpose === 'download' && basename(abs) !== name) return holder
  if (await holdsFiles(meta, holder.payload, purpose)) return holder
  const direct: OutputTarget = { root: abs, payload: abs }
  return await holdsFiles(meta, abs, purpose) ? direct : holder
}

/**
 * The literal meaning FileStorage.open and checkExisting give a string: a multi-file torrent's
 * files under `out/NAME/`, a single-file torrent's file at `out` exactly. No disk access.
 */
export function outputAt (meta: Metainfo, out: string): OutputTarget {
  const abs = resolve(out)
  if (meta.multiFile) return { root: abs, payload: join(abs, torrentName(meta)) }
  return { root: dirname(abs), payload: abs }
}

/** The torrent's name as its files' paths carry it: safe to join under a directory. */
export function torrentName (meta: Metainfo): string {
  const first = meta.files[0]
  if (first === undefined) throw new StorageError(`"${meta.name}" has no files`)
  return first.path.split('/')[0] as string
}

/** A file's path below the payload: its TorrentFile.path without the NAME component. */
export function pathBelowPayload (filePath: string): string {
  const cut = filePath.indexOf('/')
  return cut < 0 ? '' : filePath.slice(cut + 1)
}

/** Whether one of the torrent's files (final or `.part` name) is a regular file below `payload`. */
async function holdsFiles (meta: Metainfo, payload: string, purpose: OutputPurpose): Promise<boolean> {
  let probed = 0
  for (const f of meta.files) {
    if (f.padding) continue
    if (probed++ >= MAX_FILES_PROBED) break
    const at = join(payload, pathBelowPayload(f.path))
    for (const candidate of [at, at + PART_SUFFIX]) {
      // A seeder follows links (LinkPolicy 'follow-reads'); a download never does.
      const found = purpose === 'seed' ? await statOrUndefined(candidate, purpose) : await lstatOrUndefined(candidate, purpose)
      if (found?.isFile() === true) return true
    }
  }
  return false
}

function endsWithSeparator (path: string): boolean {
  return path.endsWith('/') || path.endsWith(sep)
}

async function statOrUndefined (path: string, purpose: OutputPurpose): Promise<Stats | undefined> {
  return await orUndefined(stat(path), path, purpose)
}

async function lstatOrUndefined (path: string, purpose: OutputPurpose): Promise<Stats | undefined> {
  return await orUndefined(lstat(path), path, purpose)
}

async function orUndefined (p: Promise<Stats>, path: string, purpose: OutputPurpose): Promise<Stats | undefined> {
  try {
    return await p
  } catch (err) {
    const code = errorCode(err)
    // ENOTDIR: a file where a directory of the path would be; nothing of ours is there.
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw toStorageError(purpose === 'seed' ? 'read' : 'use', path, err)
  }
}
