/**
 * Opening a torrent's files without ever leaving the output root through a symbolic link.
 *
 * A torrent's paths are checked to stay below the root as strings (lib/metainfo/safe-path,
 * layout.ts insideRoot); that is not enough on a real disk, where `DIR/album` may be a symlink to
 * `/elsewhere` and `DIR/album/x.bin` then lands outside DIR. So, for every path below the root:
 * each directory between the root and the file must be a real directory (`lstat`, which never
 * follows) or one we create now (`mkdir` one level at a time: EEXIST means someone else's entry,
 * which is looked at again), and the file itself is opened with O_NOFOLLOW, so a symlink under the
 * file's own name fails (ELOOP) instead of being followed. The root itself is the user's choice
 * and may be a symlink; nothing above it is looked at.
 *
 * What remains (a race, not a hole in the rule): Node has no openat(2), so the directories are
 * checked by name and then the file is opened by name. Someone who can write inside the root
 * *while we run* can swap a checked directory for a symlink between our lstat and our open, and
 * O_NOFOLLOW guards only the last component. Closing that needs openat with O_NOFOLLOW on every
 * component (or checking /proc/self/fd/N after the open, Linux only). What this does stop is every
 * symlink that is there before we look: one planted by an earlier torrent, a user's own link, a
 * shared download directory.
 */
import { constants, type Stats } from 'node:fs'
import { lstat, mkdir, open, stat, type FileHandle } from 'node:fs/promises'
import { dirname, relative, resolve, sep } from 'node:path'
import { StorageError } from '../util/errors.js'
import { errorCode, toStorageError } from './storage-error.js'

/** O_NOFOLLOW is missing on Windows (0 there: no protection of the last component; lstat still runs). */
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0
const { O_RDONLY, O_RDWR, O_CREAT, O_EXCL, O_WRONLY, O_APPEND } = constants

/** New files: rw for everyone the umask allows, as `fs.open(path, 'w')` would. */
const FILE_MODE = 0o666

/** A symbolic link below the root, in a torrent file's path: never followed. */
export class SymlinkRefused extends StorageError {}

export type OpenMode =
  /** Read only; the file must exist. */
  | 'read'
  /** Read-write, created (with missing parents) when absent, never truncated. */
  | 'write'
  /** Write-only append, created (with missing parents) when absent: an empty file's creation. */
  | 'create'

/**
 * `path` (absolute, below `root`) opened as `mode`, refusing any symbolic link below the root,
 * unless `followReads` and it is only read (seeding: see LinkPolicy in layout.ts).
 */
export async function openBelow (root: string, path: string, mode: OpenMode, followReads = false): Promise<FileHandle> {
  const verb = mode === 'read' ? 'read' : 'write'
  if (followReads && mode === 'read') {
    try {
      return await open(path, O_RDONLY)
    } catch (err) {
      throw toStorageError(verb, path, err)
    }
  }
  if (mode !== 'read') {
    // The root and what is above it are the user's: made as given, links and all.
    try {
      await mkdir(resolve(root), { recursive: true })
    } catch (err) {
      throw toStorageError(verb, path, err)
    }
  }
  await checkDirectories(root, path, mode !== 'read', verb)
  try {
    if (mode === 'read') return await open(path, O_RDONLY | O_NOFOLLOW)
    const rw = mode === 'write' ? O_RDWR : O_WRONLY | O_APPEND
    try {
      return await open(path, rw | O_NOFOLLOW)
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err
    }
    try {
      // O_EXCL: create, never truncate a file someone created in between; it also fails on a
      // symlink (even a dangling one) under this name, instead of creating its target.
      return await open(path, rw | O_CREAT | O_EXCL | O_NOFOLLOW, FILE_MODE)
    } catch (err) {
      if (errorCode(err) === 'EEXIST') return await open(path, rw | O_NOFOLLOW)
      throw err
    }
  } catch (err) {
    if (isNoFollowError(err)) throw refused(root, path)
    throw err
  }
}

/**
 * What is at `path` (below `root`): a regular file, nothing (it or a parent is missing), or
 * something else (a directory, a device). A symbolic link at `path` or at any directory between
 * it and the root throws SymlinkRefused; nothing is followed.
 */
export async function kindBelow (root: string, path: string, verb: 'read' | 'write' = 'read', followReads = false): Promise<'file' | 'absent' | 'other'> {
  if (followReads && verb === 'read') {
    try {
      return (await stat(path)).isFile() ? 'file' : 'other'
    } catch (err) {
      const code = errorCode(err)
      if (code === 'ENOENT' || code === 'ENOTDIR') return 'absent'
      throw toStorageError(verb, path, err)
    }
  }
  if (!await checkDirectories(root, path, false, verb)) return 'absent'
  const st = await lstatOrUndefined(path, verb)
  if (st === undefined) return 'absent'
  if (st.isSymbolicLink()) throw refused(root, path)
  return st.isFile() ? 'file' : 'other'
}

/**
 * Each directory strictly between `root` and `path`, top down, must be a real directory. Missing
 * ones are created when `create` (then true); without `create`, false at the first missing one.
 * A symlink throws SymlinkRefused; a file where a directory must be throws ENOTDIR's StorageError.
 */
export async function checkDirectories (root: string, path: string, create: boolean, verb: 'read' | 'write'): Promise<boolean> {
  for (const dir of directoriesBetween(root, path)) {
    let st = await lstatOrUndefined(dir, verb)
    if (st === undefined) {
      if (!create) return false
      try {
        // Not recursive: each level is created (and so known to be ours) or looked at again.
        await mkdir(dir)
        continue
      } catch (err) {
        if (errorCode(err) !== 'EEXIST') throw toStorageError(verb, path, err)
      }
      st = await lstatOrUndefined(dir, verb)
      if (st === undefined) throw toStorageError(verb, path, Object.assign(new Error('vanished'), { code: 'ENOENT' }))
    }
    if (st.isSymbolicLink()) throw refused(root, dir)
    if (!st.isDirectory()) throw toStorageError(verb, path, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }))
  }
  return true
}

/** The directories strictly between `root` and `path`, top down; throws when `path` is not below `root`. */
export function directoriesBetween (root: string, path: string): string[] {
  const r = resolve(root)
  const rel = relative(r, resolve(path))
  if (rel === '' || rel === '..' || rel.startsWith('..' + sep) || resolve(r, rel) !== resolve(path)) {
    throw new StorageError(`refusing to use ${JSON.stringify(path)}: it is not below ${JSON.stringify(r)}`)
  }
  const out: string[] = []
  for (let d = dirname(resolve(path)); d !== r && d.length > r.length; d = dirname(d)) out.push(d)
  return out.reverse()
}

/** One wording for reading (resume check, seeding) and writing: the user meets it as either. */
function refused (root: string, path: string): SymlinkRefused {
  return new SymlinkRefused(`${JSON.stringify(path)} is a symbolic link; refusing to follow it outside ${JSON.stringify(resolve(root))}`)
}

/** O_NOFOLLOW on a symlink: ELOOP on Linux and macOS, EMLINK on FreeBSD. */
function isNoFollowError (err: unknown): boolean {
  const code = errorCode(err)
  return code === 'ELOOP' || code === 'EMLINK'
}

async function lstatOrUndefined (path: string, verb: 'read' | 'write'): Promise<Stats | undefined> {
  try {
    return await lstat(path)
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined
    throw toStorageError(verb, path, err)
  }
}
