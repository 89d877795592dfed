/**
 * `Content-Type` from a file's extension. Players mostly sniff the bytes, but browsers' `<video>`
 * and some players decide by the type first; what is not listed is served as bytes.
 */

const TYPES: Readonly<Record<string, string>> = {
  // video
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mkv: 'video/x-matroska',
  webm: 'video/webm',
  avi: 'video/x-msvideo',
  mov: 'video/quicktime',
  mpg: 'video/mpeg',
  mpeg: 'video/mpeg',
  ts: 'video/mp2t',
  m2ts: 'video/mp2t',
  ogv: 'video/ogg',
  wmv: 'video/x-ms-wmv',
  flv: 'video/x-flv',
  // audio
  mp3: 'audio/mpeg',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  wav: 'audio/wav',
  wma: 'audio/x-ms-wma',
  // subtitles and text
  srt: 'application/x-subrip',
  vtt: 'text/vtt',
  ass: 'text/x-ssa',
  ssa: 'text/x-ssa',
  txt: 'text/plain; charset=utf-8',
  nfo: 'text/plain; charset=utf-8',
  md: 'text/plain; charset=utf-8',
  // images
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  // the rest
  pdf: 'application/pdf',
  iso: 'application/x-iso9660-image',
  zip: 'application/zip',
  m3u: 'audio/x-mpegurl'
}

export const DEFAULT_TYPE = 'application/octet-stream'

export function contentType (name: string): string {
  const dot = name.lastIndexOf('.')
  if (dot === -1 || dot < name.lastIndexOf('/')) return DEFAULT_TYPE
  return TYPES[name.slice(dot + 1).toLowerCase()] ?? DEFAULT_TYPE
}

/** Worth listing in the playlist: what a player plays. */
export function isMedia (name: string): boolean {
  const t = contentType(name)
  return t.startsWith('video/') || t.startsWith('audio/')
}
