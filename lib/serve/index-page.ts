/**
 * What `GET /` and `/playlist.m3u` say about the torrent: its files, their URLs and how much of
 * each is on disk. File names come from the torrent, that is from a stranger: the HTML escapes
 * them, the URLs percent-encode them, and the playlist drops control characters.
 */
import type { Metainfo } from '../metainfo/types.js'
import { contentType, isMedia } from './content-type.js'

export interface FileEntry {
  readonly index: number
  /** The path inside the torrent, as `bt-stream info` prints it. */
  readonly path: string
  readonly length: number
  /** Path of its URL on this server: `/<index>/<name>`. */
  readonly url: string
  readonly type: string
  /** Share of its pieces on disk, 0..1. */
  readonly progress: number
}

export interface TorrentIndex {
  readonly name: string
  readonly infoHash: string
  readonly length: number
  readonly files: readonly FileEntry[]
}

/** Is a piece on disk (for the progress column)? */
export type PieceCheck = (index: number) => boolean

export function baseName (path: string): string {
  const slash = path.lastIndexOf('/')
  return slash === -1 ? path : path.slice(slash + 1)
}

/** `/<index>/<name>`: the name is there for players that guess the type from the URL. */
export function fileUrl (index: number, path: string): string {
  return `/${index}/${encodeURIComponent(baseName(path))}`
}

export function torrentIndex (meta: Metainfo, written: PieceCheck): TorrentIndex {
  const files: FileEntry[] = []
  meta.files.forEach((f, index) => {
    if (f.padding) return
    files.push({ index, path: f.path, length: f.length, url: fileUrl(index, f.path), type: contentType(f.path), progress: fileProgress(meta, f.offset, f.length, written) })
  })
  return { name: meta.name, infoHash: meta.infoHashHex, length: meta.length, files }
}

function fileProgress (meta: Metainfo, offset: number, length: number, written: PieceCheck): number {
  if (length === 0) return 1
  const first = Math.floor(offset / meta.pieceLength)
  const last = Math.floor((offset + length - 1) / meta.pieceLength)
  let n = 0
  for (let i = first; i <= last; i++) if (written(i)) n++
  return n / (last - first + 1)
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml (s: string): string {
  return s.replace(/[&<>"']/g, c => ESCAPES[c]!)
}

export function indexHtml (index: TorrentIndex): string {
  const rows = index.files.map(f =>
    `<tr><td>${f.index}</td><td><a href="${escapeHtml(f.url)}">${escapeHtml(f.path)}</a></td>` +
    `<td class="n">${f.length}</td><td class="n">${Math.floor(f.progress * 100)}%</td><td>${escapeHtml(f.type)}</td></tr>`
  ).join('\n')
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(index.name)}</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:.2em .8em}.n{text-align:right}</style></head>
<body><h1>${escapeHtml(index.name)}</h1>
<p>infohash ${index.infoHash} &middot; <a href="/playlist.m3u">playlist.m3u</a></p>
<table><tr><th>#</th><th>file</th><th>bytes</th><th>on disk</th><th>type</th></tr>
${rows}
</table></body></html>
`
}

/**
 * An extended M3U of the media files (every file when none is media), with absolute URLs: a
 * player opens the playlist by URL and resolves nothing relative to it reliably.
 */
export function playlist (index: TorrentIndex, base: string): string {
  const media = index.files.filter(f => isMedia(f.path))
  const files = media.length > 0 ? media : index.files
  const lines = ['#EXTM3U']
  for (const f of files) {
    lines.push(`#EXTINF:-1,${f.path.replace(/[\x00-\x1f\x7f]/g, ' ')}`)
    lines.push(base + f.url)
  }
  return lines.join('\n') + '\n'
}
