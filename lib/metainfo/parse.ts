import { createHash } from 'node:crypto'
import { decodeBencodeDetailed, isDict, type BencodeDict } from '../bencode/decode.js'
import { MetainfoError } from '../util/errors.js'
import { optBytes, optDict, optInt, optTextPreferUtf8, required } from './fields.js'
import { parseFiles } from './files.js'
import { checkHybridConsistent } from './hybrid.js'
import { parseAnnounce, parseUrlList } from './trackers.js'
import type { Metainfo, MetaVersion } from './types.js'

/** BEP 3 piece hashes are 20-byte SHA-1 digests, concatenated. */
const HASH_LENGTH = 20
/**
 * Pieces are held whole in memory while they are verified; real creators stop at 16-64 MiB, so a
 * larger piece length is a hostile torrent trying to make us allocate.
 */
export const MAX_PIECE_LENGTH = 256 * 1024 * 1024

/** What a .torrent holds outside its info dict; a magnet supplies some of it (BEP 9). */
export interface MetainfoExtras {
  readonly announce?: readonly (readonly string[])[]
  readonly urlList?: readonly string[]
  readonly comment?: string
  readonly createdBy?: string
  readonly creationDate?: number
  /** When given (a magnet's info hash), info bytes hashing to anything else are rejected. */
  readonly expectedInfoHash?: Uint8Array
}

/**
 * Parses a .torrent file (BEP 3). The info hash is the SHA-1 of the `info` value's bytes exactly
 * as they stand in the file, so a torrent with unsorted keys still gets the hash its swarm uses.
 */
export function parseTorrent (bytes: Uint8Array): Metainfo {
  const decoded = decodeBencodeDetailed(bytes, false)
  const top = decoded.value
  if (!isDict(top)) throw new MetainfoError('a .torrent must be a bencoded dictionary')
  const span = decoded.entries?.find(e => e.key === 'info')
  if (span === undefined) throw new MetainfoError('the .torrent has no info dictionary')
  const info = optDict(top, 'info', 'info') as BencodeDict
  const creationDate = optInt(top, 'creation date', 'creation date')
  const comment = optTextPreferUtf8(top, 'comment', 'comment')
  const createdBy = optTextPreferUtf8(top, 'created by', 'created by')
  return buildMetainfo(info, bytes.slice(span.start, span.end), {
    announce: parseAnnounce(top),
    urlList: parseUrlList(top),
    ...(comment === undefined ? {} : { comment }),
    ...(createdBy === undefined ? {} : { createdBy }),
    ...(creationDate === undefined ? {} : { creationDate })
  })
}

/**
 * Builds a Metainfo from the bytes of an info dict alone, as fetched from peers for a magnet
 * (BEP 9); trackers and web seeds come from `extras`.
 */
export function parseInfoDict (infoBytes: Uint8Array, extras: MetainfoExtras = {}): Metainfo {
  const { value } = decodeBencodeDetailed(infoBytes, false)
  if (!isDict(value)) throw new MetainfoError('the info value must be a bencoded dictionary')
  return buildMetainfo(value, infoBytes.slice(), extras)
}

function buildMetainfo (info: BencodeDict, infoBytes: Uint8Array, extras: MetainfoExtras): Metainfo {
  const infoHash = new Uint8Array(createHash('sha1').update(infoBytes).digest())
  const infoHashHex = Buffer.from(infoHash).toString('hex')
  if (extras.expectedInfoHash !== undefined && !Buffer.from(infoHash).equals(extras.expectedInfoHash)) {
    throw new MetainfoError(`info dictionary hashes to ${infoHashHex}, expected ${Buffer.from(extras.expectedInfoHash).toString('hex')}`)
  }
  const version = metaVersion(info)
  const name = required(optTextPreferUtf8(info, 'name', 'info.name'), 'info.name')
  const pieceLength = required(optInt(info, 'piece length', 'info.piece length'), 'info.piece length')
  if (pieceLength <= 0 || pieceLength > MAX_PIECE_LENGTH) {
    throw new MetainfoError(`info.piece length must be between 1 and ${MAX_PIECE_LENGTH}, found ${pieceLength}`)
  }
  const pieceHashes = required(optBytes(info, 'pieces', 'info.pieces'), 'info.pieces')
  if (pieceHashes.length % HASH_LENGTH !== 0) {
    throw new MetainfoError(`info.pieces length ${pieceHashes.length} is not a multiple of ${HASH_LENGTH}`)
  }
  const { files, multiFile, length } = parseFiles(info, name)
  const pieceCount = pieceHashes.length / HASH_LENGTH
  const needed = Math.ceil(length / pieceLength)
  if (pieceCount !== needed) {
    throw new MetainfoError(`info.pieces holds ${pieceCount} hashes but ${length} bytes in ${pieceLength}-byte pieces need ${needed}`)
  }
  if (version === 'hybrid') checkHybridConsistent(info, files, multiFile)
  const isPrivate = optInt(info, 'private', 'info.private') === 1
  return {
    infoHash,
    infoHashHex,
    infoBytes,
    name,
    pieceLength,
    pieceCount,
    pieceHashes,
    length,
    lastPieceLength: pieceCount === 0 ? 0 : length - (pieceCount - 1) * pieceLength,
    files,
    multiFile,
    announce: (extras.announce ?? []).map(t => [...t]),
    urlList: [...(extras.urlList ?? [])],
    private: isPrivate,
    version,
    ...(extras.comment === undefined ? {} : { comment: extras.comment }),
    ...(extras.createdBy === undefined ? {} : { createdBy: extras.createdBy }),
    ...(extras.creationDate === undefined ? {} : { creationDate: extras.creationDate })
  }
}

/**
 * BEP 52: `meta version` is checked first. 2 with v1 `pieces` alongside the `file tree` is a
 * hybrid torrent, usable through its v1 half; 2 alone is v2-only, which we cannot download yet.
 */
function metaVersion (info: BencodeDict): MetaVersion {
  const v = optInt(info, 'meta version', 'info.meta version')
  if (v === undefined) return 'v1'
  if (v !== 2) throw new MetainfoError(`info.meta version ${v} is not supported (only BEP 52 version 2)`)
  if (optBytes(info, 'pieces', 'info.pieces') === undefined) {
    throw new MetainfoError('v2-only torrents (BEP 52) are not supported yet')
  }
  return 'hybrid'
}
