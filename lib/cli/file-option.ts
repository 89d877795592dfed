/**
 * `--file` checked in the CLI's own words before the library sees it: the library's messages
 * name its options (`file`, `files`), the CLI's name its flags.
 */
import type { Metainfo } from '../metainfo/types.js'
import { listFiles, selectFiles } from '../session/selection.js'
import { UsageError } from '../util/errors.js'

/** Throws a UsageError naming `--file` when the selection cannot be downloaded as asked. */
export function checkFileOption (meta: Metainfo, sels: readonly string[], toStdout: boolean): void {
  if (toStdout && sels.length === 0 && meta.multiFile) {
    throw new UsageError(`"${meta.name}" holds ${meta.files.length} files; choose one with --file (or all: --tar to stdout, -o DIR to disk):\n${listFiles(meta)}`)
  }
  for (const sel of sels) {
    let index: number
    try {
      index = (selectFiles(meta, [sel]) as number[])[0] as number
    } catch (err) {
      if (err instanceof UsageError) throw new UsageError(`--file ${sel}: no such file; the torrent holds:\n${listFiles(meta)}`, { cause: err })
      throw err
    }
    if (meta.files[index]?.padding === true) throw new UsageError(`--file ${sel} is a padding file (BEP 47), not content`)
  }
}
