import { describeSystemError, StorageError } from '../util/errors.js'

/**
 * Turns a Node fs error into a StorageError whose one-line message names the file and the cause
 * in words (`cannot write "a/b.bin.part": no space left on device (ENOSPC)`), so the CLI can print
 * it as is.
 */

export function toStorageError (action: string, path: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err
  return new StorageError(`cannot ${action} ${JSON.stringify(path)}: ${describeSystemError(err)}`, { cause: err })
}

/** The fs error code of `err`, if it has one. */
export function errorCode (err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined
}
