/**
 * A .torrent file around an info dict we hold as bytes (fetched from peers for a magnet, BEP 9).
 * The info dict is spliced in exactly as it was verified: re-encoding it could change its bytes,
 * and with them the info hash.
 */
import bencode from 'bencode'

export interface TorrentFileFields {
  readonly announce?: readonly (readonly string[])[]
  readonly urlList?: readonly string[]
}

export function torrentFileBytes (infoBytes: Uint8Array, fields: TorrentFileFields = {}): Uint8Array {
  const tiers = (fields.announce ?? []).filter(t => t.length > 0)
  // BEP 3: dictionary keys in sorted order: announce, announce-list, info, url-list.
  const parts: Uint8Array[] = [Buffer.from('d')]
  const put = (key: string, value: unknown): void => {
    parts.push(bencode.encode(key), bencode.encode(value))
  }
  if (tiers.length > 0) put('announce', tiers[0]![0])
  if (tiers.length > 1 || (tiers[0]?.length ?? 0) > 1) put('announce-list', tiers)
  parts.push(bencode.encode('info'), infoBytes)
  if ((fields.urlList?.length ?? 0) > 0) put('url-list', fields.urlList)
  parts.push(Buffer.from('e'))
  return Buffer.concat(parts)
}
