import { StorageError } from '../util/errors.js'

/**
 * Turns a Node fs error into a StorageError whose one-line message names the file and the cause
 * in words (`cannot write "a/b.bin.part": no space left on device (ENOSPC)`), so the CLI can print
 * it as is.
 */
const CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EISDIR: 'is a directory',
  ENOTEMPTY: 'a directory is in the way',
  ENOTDIR: 'a parent of this path is a file, not a directory',
  EEXIST: 'a file is in the way of a directory',
  ENOENT: 'no such file or directory',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  EFBIG: 'file too large for this file system',
  ENAMETOOLONG: 'file name too long'
}

export function toStorageError (action: string, path: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined
  const cause = code !== undefined && CAUSES[code] !== undefined
    ? `${CAUSES[code]} (${code})`
    : (err instanceof Error ? err.message : String(err)).split('\n')[0]
  return new StorageError(`cannot ${action} ${JSON.stringify(path)}: ${cause}`, { cause: err })
}

/** The fs error code of `err`, if it has one. */
export function errorCode (err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined
}
