/**
 * Every error bt-stream raises on bad input has its own class, so callers (and the CLI's exit
 * codes) can tell a malformed torrent from a hostile peer from a full disk without parsing text.
 */
export class BtStreamError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

/** A .torrent (or bencoded metadata) that does not follow BEP 3 / BEP 52. */
export class MetainfoError extends BtStreamError {}

/** A magnet URI we cannot use. */
export class MagnetError extends BtStreamError {}

/** Bytes that are not valid bencoding. */
export class BencodeError extends BtStreamError {}

/** The command line was used wrongly: exit code 2. */
export class UsageError extends BtStreamError {}

/** A peer broke the wire protocol: costs us that peer, never the download. */
export class ProtocolError extends BtStreamError {}

/** A tracker failed, refused or answered garbage: costs us that tracker. */
export class TrackerError extends BtStreamError {}

/** The download cannot complete (no peers, every peer banned, ...). */
export class DownloadError extends BtStreamError {}

/** Writing or reading our own files failed (no space, no permission, ...). */
export class StorageError extends BtStreamError {}

/** Fetching a .torrent by URL failed (HTTP error, too large, too slow). */
export class FetchError extends BtStreamError {}

/**
 * System error codes in words, one table for every message bt-stream prints (files, sockets,
 * trackers): `no such file or directory (ENOENT)` says what happened and keeps the code to search for.
 */
const ERRNO_WORDS: Readonly<Record<string, string>> = {
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
  ENFILE: 'too many open files in the system',
  EIO: 'input/output error',
  EFBIG: 'file too large for this file system',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many symbolic links',
  EBADF: 'bad file descriptor',
  ECONNREFUSED: 'connection refused (nothing listening there)',
  ECONNRESET: 'connection reset by the other end',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'the other end closed the connection',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host is down',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed for now (DNS)',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this machine',
  EAFNOSUPPORT: 'address family not supported',
  ENOTCONN: 'not connected'
}

/** The words for a system error code, e.g. `ENOENT` -> `no such file or directory`. */
export function errnoWords (code: string): string | undefined {
  return Object.hasOwn(ERRNO_WORDS, code) ? ERRNO_WORDS[code] : undefined
}

/** The system error code of `err` or of one of its causes, if any. */
export function systemErrorCode (err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code
  }
  return undefined
}

/** `no such file or directory (ENOENT)`; the error's own first line when it has no known code. */
export function describeSystemError (err: unknown): string {
  const code = systemErrorCode(err)
  const words = code === undefined ? undefined : errnoWords(code)
  if (code !== undefined && words !== undefined) return `${words} (${code})`
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] as string
}

/**
 * `err.message` with the system error it wraps put in words: `cannot connect to 1.2.3.4:1: connect
 * ECONNREFUSED 1.2.3.4:1` becomes `cannot connect to 1.2.3.4:1: connection refused (nothing
 * listening there) (ECONNREFUSED)`. Node's own text for the cause is replaced where the message
 * quotes it; a message that does not is left as it is.
 */
export function messageInWords (err: Error): string {
  let message = err.message
  for (let e: unknown = err.cause, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code
    const words = typeof code === 'string' ? errnoWords(code) : undefined
    if (code === undefined || words === undefined || e.message === '') continue
    const inWords = `${words} (${code})`
    // http-get prefixes the code to Node's text: `ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1`.
    for (const quoted of [`${code} ${e.message}`, e.message]) {
      if (message.includes(quoted)) { message = message.replace(quoted, inWords); break }
    }
  }
  // Messages joined from several errors lose their causes ("all trackers failed: a: ...; b: ..."):
  // Node's socket wording is recognised in the text itself.
  return message.replace(NODE_SOCKET_TEXT, (whole, code: string) => {
    const words = errnoWords(code)
    return words === undefined ? whole : `${words} (${code})`
  })
}

/**
 * `ECONNREFUSED connect ECONNREFUSED 127.0.0.1:9` (http-get), `connect ECONNREFUSED 127.0.0.1:9`,
 * `listen EACCES: permission denied 0.0.0.0:80` (Node).
 */
const NODE_SOCKET_TEXT = /(?:\b(?:E[A-Z_]+) )?\b(?:connect|listen|bind|getaddrinfo|read|write|send|recv) (E[A-Z_]+)(?:: [a-z][a-z ]*[a-z])?(?: \[?[0-9A-Za-z.:_-]+\]?(?::\d+)?)?/g
