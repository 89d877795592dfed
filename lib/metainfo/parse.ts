import { createHash } from 'node:crypto'
import { decodeBencodeDetailed, isDict, type BencodeDict } from '../bencode/decode.js'
import { MetainfoError } from '../util/errors.js'
import { optBytes, optDict, optInt, optTextPreferUtf8, required } from './fields.js'
import { parseFiles } from './files.js'
import { parseFileTree } from './file-tree.js'
import { needsLayer, parsePieceLayers } from './piece-layers.js'
import { dictEntries } from './raw-dict.js'
import { parseAnnounce, parseUrlList } from './trackers.js'
import type { Metainfo, MetaVersion, PieceLayersStatus, TorrentFile, V2File } from './types.js'
import { layoutFileTree, mergeHybrid } from './v2-layout.js'
import { UNKNOWN_PIECE_COUNT_CAP } from '../wire/limits.js'
import { copyBytes } from '../util/copy-bytes.js'

/** BEP 3 piece hashes are 20-byte SHA-1 digests, concatenated. */
const HASH_LENGTH = 20
/** BEP 52: the v2 info hash is truncated to this many bytes in handshakes and tracker requests. */
export const TRUNCATED_HASH_LENGTH = 20
/** BEP 52: "It must be a power of two and at least 16KiB." */
const MIN_V2_PIECE_LENGTH = 16 * 1024
/**
 * Pieces are held whole in memory while they are verified; real creators stop at 16-64 MiB, so a
 * larger piece length is a hostile torrent trying to make us allocate.
 */
export const MAX_PIECE_LENGTH = 256 * 1024 * 1024

/**
 * A v2-only torrent's piece count comes from its file lengths, not from hashes it must carry, so
 * a 1 KiB info dict could claim petabytes: the count is capped where the wire caps a bitfield
 * before the count is known (2^22 pieces: 64 GiB at 16 KiB pieces, 1 PiB at 256 MiB).
 */
export const MAX_V2_PIECE_COUNT = UNKNOWN_PIECE_COUNT_CAP

/**
 * What parseInfoDict says about a v2-only info dict when its caller cannot fetch piece layers:
 * without them (and without SHA-1 piece hashes) no piece of a file longer than one piece can be
 * verified. The magnet path asks for them from peers and passes `allowV2Only`.
 */
export const V2_ONLY_REFUSAL = 'v2-only info dictionary without piece layers: fetch them with hash requests (allowV2Only) or use the .torrent'

/** What a .torrent holds outside its info dict; a magnet supplies some of it (BEP 9). */
export interface MetainfoExtras {
  readonly announce?: readonly (readonly string[])[]
  readonly urlList?: readonly string[]
  readonly comment?: string
  readonly createdBy?: string
  readonly creationDate?: number
  /**
   * When given (a magnet's info hash), info bytes hashing to anything else are rejected. 20 bytes
   * match the v1 SHA-1 or the truncated v2 SHA-256 (a hybrid's metadata may come from either
   * swarm); 32 bytes match the full v2 hash.
   */
  readonly expectedInfoHash?: Uint8Array
  /** A hybrid magnet's `urn:btmh` (32 bytes): the info bytes' SHA-256 must be this too. */
  readonly expectedInfoHashV2?: Uint8Array
}

export interface ParseOptions {
  /**
   * Accept a v2-only torrent (BEP 52, no SHA-1 piece hashes) whose piece layers are missing (an
   * info dict from a magnet, a .torrent without `piece layers`). Off by default: nothing can
   * verify its pieces until the layers come from peers (lib/v2/hash-requester.ts), which the
   * magnet path does. v2-only torrents with their layers are always accepted.
   */
  readonly allowV2Only?: boolean
}

/**
 * Parses a .torrent file (BEP 3, BEP 52). The info hash is the hash of the `info` value's bytes
 * exactly as they stand in the file, so a torrent with unsorted keys still gets the hash its
 * swarm uses.
 */
export function parseTorrent (bytes: Uint8Array, opts: ParseOptions = {}): Metainfo {
  const decoded = decodeBencodeDetailed(bytes, false)
  const top = decoded.value
  if (!isDict(top)) throw new MetainfoError('a .torrent must be a bencoded dictionary')
  const span = decoded.entries?.find(e => e.key === 'info')
  if (span === undefined) throw new MetainfoError('the .torrent has no info dictionary')
  const info = optDict(top, 'info', 'info') as BencodeDict
  const creationDate = optInt(top, 'creation date', 'creation date')
  const comment = optTextPreferUtf8(top, 'comment', 'comment')
  const createdBy = optTextPreferUtf8(top, 'created by', 'created by')
  const layers = decoded.entries?.find(e => e.key === 'piece layers')
  return buildMetainfo(info, bytes.slice(span.start, span.end), {
    announce: parseAnnounce(top),
    urlList: parseUrlList(top),
    ...(comment === undefined ? {} : { comment }),
    ...(createdBy === undefined ? {} : { createdBy }),
    ...(creationDate === undefined ? {} : { creationDate })
  }, opts, layers === undefined ? undefined : { bytes, start: layers.start })
}

/**
 * Builds a Metainfo from the bytes of an info dict alone, as fetched from peers for a magnet
 * (BEP 9); trackers and web seeds come from `extras`. A v2 info dict comes without its piece
 * layers: they are fetched from peers with hash requests (lib/v2/hash-requester.ts).
 */
export function parseInfoDict (infoBytes: Uint8Array, extras: MetainfoExtras = {}, opts: ParseOptions = {}): Metainfo {
  const { value } = decodeBencodeDetailed(infoBytes, false)
  if (!isDict(value)) throw new MetainfoError('the info value must be a bencoded dictionary')
  return buildMetainfo(value, copyBytes(infoBytes), extras, opts, undefined)
}

interface LayersSource { readonly bytes: Uint8Array, readonly start: number }

function buildMetainfo (info: BencodeDict, infoBytes: Uint8Array, extras: MetainfoExtras, opts: ParseOptions, layersSource: LayersSource | undefined): Metainfo {
  const version = metaVersion(info)
  const sha1 = new Uint8Array(createHash('sha1').update(infoBytes).digest())
  const sha256 = version === 'v1' ? undefined : new Uint8Array(createHash('sha256').update(infoBytes).digest())
  const infoHash = version === 'v2' ? (sha256 as Uint8Array).slice(0, TRUNCATED_HASH_LENGTH) : sha1
  const infoHashHex = Buffer.from(infoHash).toString('hex')
  checkExpectedHash(extras.expectedInfoHash, sha1, sha256)
  if (extras.expectedInfoHashV2 !== undefined && (sha256 === undefined || !Buffer.from(sha256).equals(extras.expectedInfoHashV2))) {
    throw new MetainfoError(`info dictionary's v2 hash is ${sha256 === undefined ? 'absent (a v1 torrent)' : Buffer.from(sha256).toString('hex')}, expected ${Buffer.from(extras.expectedInfoHashV2).toString('hex')} (urn:btmh)`)
  }

  const name = required(optTextPreferUtf8(info, 'name', 'info.name'), 'info.name')
  const pieceLength = required(optInt(info, 'piece length', 'info.piece length'), 'info.piece length')
  if (pieceLength <= 0 || pieceLength > MAX_PIECE_LENGTH) {
    throw new MetainfoError(`info.piece length must be between 1 and ${MAX_PIECE_LENGTH}, found ${pieceLength}`)
  }
  if (version !== 'v1' && (pieceLength < MIN_V2_PIECE_LENGTH || (pieceLength & (pieceLength - 1)) !== 0)) {
    throw new MetainfoError(`info.piece length must be a power of two of at least 16 KiB in a BEP 52 torrent, found ${pieceLength}`)
  }

  let files: TorrentFile[]
  let multiFile: boolean
  let length: number
  let pieceHashes: Uint8Array
  let v2Files: V2File[] | undefined
  if (version === 'v2') {
    const layout = layoutFileTree(parseFileTree(infoBytes, dictEntries(infoBytes, 0)), name, pieceLength)
    ;({ files, multiFile, length, v2Files } = layout)
    if (layout.pieceCount > MAX_V2_PIECE_COUNT) {
      throw new MetainfoError(`info.file tree: ${length} bytes in ${pieceLength}-byte pieces make ${layout.pieceCount} pieces, more than the ${MAX_V2_PIECE_COUNT} we accept`)
    }
    pieceHashes = new Uint8Array(0)
  } else {
    ({ files, multiFile, length } = parseFiles(info, name))
    pieceHashes = required(optBytes(info, 'pieces', 'info.pieces'), 'info.pieces')
    if (pieceHashes.length % HASH_LENGTH !== 0) {
      throw new MetainfoError(`info.pieces length ${pieceHashes.length} is not a multiple of ${HASH_LENGTH}`)
    }
    const count = pieceHashes.length / HASH_LENGTH
    const needed = Math.ceil(length / pieceLength)
    if (count !== needed) {
      throw new MetainfoError(`info.pieces holds ${count} hashes but ${length} bytes in ${pieceLength}-byte pieces need ${needed}`)
    }
    if (version === 'hybrid') {
      ({ files, v2Files } = mergeHybrid(files, multiFile, parseFileTree(infoBytes, dictEntries(infoBytes, 0)), pieceLength))
    }
  }
  const pieceCount = Math.ceil(length / pieceLength)

  let pieceLayers: Map<string, Uint8Array> | undefined
  let pieceLayersStatus: PieceLayersStatus | undefined
  if (v2Files !== undefined) {
    const needed = v2Files.some(f => needsLayer(f, pieceLength))
    if (layersSource !== undefined) {
      pieceLayers = parsePieceLayers(layersSource.bytes, layersSource.start, v2Files, pieceLength)
      pieceLayersStatus = 'complete'
    } else {
      pieceLayers = new Map()
      pieceLayersStatus = needed ? 'missing' : 'complete'
    }
  }
  if (version === 'v2' && pieceLayersStatus === 'missing' && opts.allowV2Only !== true) throw new MetainfoError(V2_ONLY_REFUSAL)

  const isPrivate = optInt(info, 'private', 'info.private') === 1
  return {
    infoHash,
    infoHashHex,
    ...(sha256 === undefined ? {} : { infoHashV2: sha256, infoHashV2Hex: Buffer.from(sha256).toString('hex') }),
    ...(v2Files === undefined ? {} : { v2Files }),
    ...(pieceLayers === undefined ? {} : { pieceLayers }),
    ...(pieceLayersStatus === undefined ? {} : { pieceLayersStatus }),
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

function checkExpectedHash (expected: Uint8Array | undefined, sha1: Uint8Array, sha256: Uint8Array | undefined): void {
  if (expected === undefined) return
  const e = Buffer.from(expected)
  const ok = e.equals(sha1) || (sha256 !== undefined && (e.equals(sha256) || e.equals(sha256.subarray(0, TRUNCATED_HASH_LENGTH))))
  if (!ok) {
    throw new MetainfoError(`info dictionary hashes to ${Buffer.from(sha1).toString('hex')}${sha256 === undefined ? '' : ` (v2 ${Buffer.from(sha256).toString('hex')})`}, expected ${e.toString('hex')}`)
  }
}

/**
 * BEP 52: `meta version` is checked first ("before performing other validations"). 2 with v1
 * `pieces` alongside the `file tree` is a hybrid torrent; 2 alone is v2-only.
 */
function metaVersion (info: BencodeDict): MetaVersion {
  const v = optInt(info, 'meta version', 'info.meta version')
  if (v === undefined) return 'v1'
  if (v !== 2) throw new MetainfoError(`info.meta version ${v} is not supported (only BEP 52 version 2)`)
  return optBytes(info, 'pieces', 'info.pieces') === undefined ? 'v2' : 'hybrid'
}
