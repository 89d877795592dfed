/**
 * BEP 19's URL mapping: where each file of a torrent lives on a web seed. Pure, so every case is
 * tested on its own.
 *
 * - Single-file torrent: the url-list URL is the file itself, unless it ends in `/`: then it is a
 *   directory and the torrent's name is appended.
 * - Multi-file torrent: the URL is a root directory; the file is at URL + name + path, one URL
 *   path segment per component, each percent-encoded (a `/` or `?` inside a component must not
 *   start a new segment or a query).
 */
import type { Metainfo, TorrentFile } from '../metainfo/types.js'

/** BEP 19: "A client should ignore any protocols it does not know from the url-list." */
const SCHEMES = new Set(['http:', 'https:'])

/** The url-list entries we can use: http(s) URLs that parse, once each, in the torrent's order. */
export function usableWebSeeds (urls: readonly string[]): string[] {
  const out: string[] = []
  for (const u of urls) {
    let parsed: URL
    try { parsed = new URL(u) } catch { continue }
    if (!SCHEMES.has(parsed.protocol) || parsed.hostname === '') continue
    // A fragment is never sent to the server: keep the URL as given otherwise.
    parsed.hash = ''
    const s = parsed.toString()
    if (!out.includes(s)) out.push(s)
  }
  return out
}

/** The URL of one file of `meta` on the web seed `base` (BEP 19). */
export function fileUrl (base: string, meta: Pick<Metainfo, 'multiFile'>, file: Pick<TorrentFile, 'rawPath'>): string {
  const encoded = file.rawPath.map(encodeComponent).join('/')
  if (!meta.multiFile) return base.endsWith('/') ? base + encoded : base
  // libtorrent and aria2 take a multi-file URL without its trailing slash as the same directory.
  return (base.endsWith('/') ? base : base + '/') + encoded
}

/**
 * One path component as one URL path segment. encodeURIComponent leaves only
 * `A-Z a-z 0-9 - _ . ! ~ * ' ( )` alone, all of which are literal in a path.
 */
function encodeComponent (c: string): string {
  return encodeURIComponent(c)
}
