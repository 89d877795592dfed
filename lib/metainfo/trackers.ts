import { dictGet, type BencodeDict } from '../bencode/decode.js'
import { bytesToText, optList, optText, textList } from './fields.js'
import { MetainfoError } from '../util/errors.js'

/**
 * Announce tiers from the top level of a .torrent.
 * BEP 12: `announce-list` is a list of tiers, each a list of URLs; when present (and not empty)
 * the client ignores `announce`. Otherwise `announce` alone is one tier. Empty URLs and empty
 * tiers are dropped, and a URL appears only in its first tier.
 */
export function parseAnnounce (top: BencodeDict): string[][] {
  const list = optList(top, 'announce-list', 'announce-list')
  const seen = new Set<string>()
  const tiers: string[][] = []
  if (list !== undefined) {
    list.forEach((tier, i) => {
      if (!Array.isArray(tier)) throw new MetainfoError(`announce-list[${i}] must be a list of URLs`)
      const urls = textList(tier, `announce-list[${i}]`).filter(u => u !== '' && !seen.has(u))
      urls.forEach(u => seen.add(u))
      if (urls.length > 0) tiers.push(urls)
    })
  }
  if (tiers.length > 0) return tiers
  const announce = optText(top, 'announce', 'announce')
  return announce === undefined || announce === '' ? [] : [[announce]]
}

/** BEP 19 web seeds: `url-list` is one URL string or a list of them. */
export function parseUrlList (top: BencodeDict): string[] {
  const v = dictGet(top, 'url-list')
  if (v === undefined) return []
  if (!(v instanceof Uint8Array) && !Array.isArray(v)) throw new MetainfoError('url-list must be a URL or a list of URLs')
  const urls = v instanceof Uint8Array ? [bytesToText(v)] : textList(v, 'url-list')
  return [...new Set(urls.filter(u => u !== ''))]
}
