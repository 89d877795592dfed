/**
 * rtorrent 0.9.8 and ctorrent dnh3.3.2 refuse a .torrent without `announce` (rtorrent loads
 * nothing and says nothing in daemon mode; ctorrent: "initial meta info failed"), and the interop
 * fixtures have no tracker. Their drivers hand them a copy that names one: the same `info` bytes,
 * so the same info hash (BEP 3), with `announce` set to a tracker the driver chose.
 *   d 8:announce <url> 4:info <the original info bytes, exactly> e
 */
import { readFile, writeFile } from 'node:fs/promises'
import { parseTorrent } from '../../lib/metainfo/parse.js'
import type { Metainfo } from '../../lib/metainfo/types.js'

/** Writes the copy to `outPath`; returns the torrent's parsed metainfo (the original's). */
export async function writeAnnouncedCopy (torrentPath: string, announceUrl: string, outPath: string): Promise<Metainfo> {
  const meta = parseTorrent(await readFile(torrentPath))
  const str = (s: string): Buffer => {
    const b = Buffer.from(s, 'utf8')
    return Buffer.concat([Buffer.from(`${b.length}:`), b])
  }
  // Keys in sorted order (BEP 3 dictionaries): 'announce' < 'info'.
  const bytes = Buffer.concat([Buffer.from('d'), str('announce'), str(announceUrl), str('info'), meta.infoBytes, Buffer.from('e')])
  const copy = parseTorrent(bytes)
  if (copy.infoHashHex !== meta.infoHashHex) throw new Error(`the announced copy of ${torrentPath} has another info hash`)
  await writeFile(outPath, bytes)
  return meta
}
