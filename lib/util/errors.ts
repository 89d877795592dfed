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
