import { parseMagnet, type Magnet } from '../../magnet/parse.js'
import { torrentFileBytes } from '../../metainfo/torrent-file.js'
import type { Metainfo } from '../../metainfo/types.js'
import { UsageError } from '../../util/errors.js'
import { humanSize, printable } from '../../util/format.js'
import { optionString, parseArgs } from '../args.js'
import { loadMeta, SWARM_OPTIONS } from '../swarm-args.js'
import { readInput } from '../read-input.js'
import { parseTorrent } from '../../metainfo/parse.js'
import { writeFile } from 'node:fs/promises'
import { toStorageError } from '../../storage/storage-error.js'
import type { Command } from '../io.js'

const HELP = `usage: bt-stream info [--json] <file.torrent | https://.../x.torrent | magnet:?... | ->

Shows what a .torrent describes: info hash, name, sizes, pieces, files, trackers; for BEP 52
(v2 and hybrid) torrents also the v2 info hash, each file's pieces root and whether the piece
layers are there and verified. \`-\` reads the .torrent from stdin; an http(s) URL is fetched
(at most 64 MiB, within 30 s). For a magnet URI the metadata is fetched from its peers first
(BEP 9: its trackers, x.pe peers, --peer, the DHT), and checked against the info hash.

options:
  --json               print the same as one JSON object
  --save-torrent FILE  also write the (fetched) metadata as a .torrent file
  --no-fetch           for a magnet: print only what the URI itself holds, contact nobody
  --peer LIST          peers to ask for a magnet's metadata: host:port[,...]
  --no-trackers        do not ask the magnet's trackers
  --no-dht, --dht-bootstrap HOST:PORT,..., --dht-port N
  --metadata-timeout S give up after S seconds (default 120)
  --help               this text
`

export const command: Command = async (argv, io) => {
  const args = parseArgs(argv, [
    { long: 'json', value: false },
    { long: 'save-torrent', value: true },
    { long: 'no-fetch', value: false },
    ...SWARM_OPTIONS.filter(o => o.long !== 'help')
  ].concat([{ long: 'help', short: 'h', value: false }]))
  if (args.options.has('help')) { io.stdout.write(HELP); return 0 }
  if (args.positionals.length !== 1) throw new UsageError('info takes exactly one .torrent file, magnet URI or -')
  const source = args.positionals[0] as string
  const json = args.options.has('json')
  if (/^magnet:/i.test(source) && args.options.has('no-fetch')) {
    const magnet = parseMagnet(source, { allowV2Only: true })
    io.stdout.write(json ? JSON.stringify(magnetJson(magnet), null, 2) + '\n' : magnetText(magnet))
    return 0
  }
  // A .torrent is read here, not by loadMeta, so v2-only torrents (refused for downloads) show.
  const meta = /^magnet:/i.test(source) ? (await loadMeta(source, io, args)).meta : parseTorrent(await readInput(source, io.stdin, undefined, io.signal), { allowV2Only: true })
  const save = optionString(args, 'save-torrent')
  if (save !== undefined) await writeTorrentFile(save, torrentFileBytes(meta.infoBytes, { announce: meta.announce, urlList: meta.urlList }))
  io.stdout.write(json ? JSON.stringify(torrentJson(meta), null, 2) + '\n' : torrentText(meta))
  return 0
}

export function torrentJson (m: Metainfo): object {
  return {
    kind: 'torrent',
    infoHash: m.infoHashHex,
    ...(m.infoHashV2Hex === undefined ? {} : { infoHashV2: m.infoHashV2Hex }),
    name: m.name,
    version: m.version,
    length: m.length,
    pieceLength: m.pieceLength,
    pieceCount: m.pieceCount,
    lastPieceLength: m.lastPieceLength,
    private: m.private,
    multiFile: m.multiFile,
    files: m.files.map(f => ({ path: f.path, rawPath: f.rawPath, length: f.length, offset: f.offset, padding: f.padding, ...(f.piecesRoot === undefined ? {} : { piecesRoot: Buffer.from(f.piecesRoot).toString('hex') }) })),
    ...(m.pieceLayersStatus === undefined ? {} : { pieceLayers: pieceLayersJson(m) }),
    announce: m.announce,
    urlList: m.urlList,
    ...(m.comment === undefined ? {} : { comment: m.comment }),
    ...(m.createdBy === undefined ? {} : { createdBy: m.createdBy }),
    ...(m.creationDate === undefined ? {} : { creationDate: m.creationDate })
  }
}

/** BEP 52: which files need a piece layer (longer than a piece) and whether it is here, verified. */
function pieceLayersJson (m: Metainfo): object {
  const needed = (m.v2Files ?? []).filter(f => f.piecesRoot !== undefined && f.length > m.pieceLength)
  return {
    status: m.pieceLayersStatus,
    files: needed.map(f => {
      const root = Buffer.from(f.piecesRoot as Uint8Array).toString('hex')
      return { path: f.path, piecesRoot: root, pieces: f.pieceCount, verified: m.pieceLayers?.has(root) === true }
    })
  }
}

function pieceLayersText (m: Metainfo): string {
  const needed = (m.v2Files ?? []).filter(f => f.piecesRoot !== undefined && f.length > m.pieceLength).length
  if (m.pieceLayersStatus === 'missing') return `missing (${needed} file${needed === 1 ? '' : 's'} longer than a piece; to be fetched from peers)`
  return needed === 0 ? 'none needed (no file is longer than a piece)' : `${needed} verified against their pieces roots`
}

function sized (n: number): string {
  return n < 1024 ? `${n} B` : `${humanSize(n)} (${n} bytes)`
}

function torrentText (m: Metainfo): string {
  const lines = [
    m.version === 'v2' ? `info hash:    ${m.infoHashHex} (v2 hash truncated: the swarm id)` : `info hash:    ${m.infoHashHex}`,
    ...(m.infoHashV2Hex === undefined ? [] : [`v2 hash:      ${m.infoHashV2Hex}`]),
    `name:         ${printable(m.name)}`,
    `version:      ${m.version}`,
    `total size:   ${sized(m.length)}`,
    `piece length: ${sized(m.pieceLength)}`,
    `pieces:       ${m.pieceCount}${m.pieceCount > 0 ? ` (last piece ${sized(m.lastPieceLength)})` : ''}`,
    `private:      ${m.private ? 'yes (BEP 27: trackers only)' : 'no'}`
  ]
  if (m.createdBy !== undefined) lines.push(`created by:   ${printable(m.createdBy)}`)
  if (m.creationDate !== undefined) lines.push(`created:      ${dateText(m.creationDate)}`)
  if (m.comment !== undefined) lines.push(`comment:      ${printable(m.comment)}`)
  lines.push(m.announce.length === 0 ? 'trackers:     none' : 'trackers:')
  m.announce.forEach((tier, i) => tier.forEach(url => lines.push(`  tier ${i + 1}: ${printable(url)}`)))
  // One push per item: a spread of a torrent-sized list overflows the call stack (200 000 files).
  if (m.urlList.length > 0) lines.push('web seeds:')
  for (const u of m.urlList) lines.push(`  ${printable(u)}`)
  const real = m.files.filter(f => !f.padding)
  const pads = m.files.length - real.length
  lines.push(`files (${real.length}${pads > 0 ? `, plus ${pads} BEP 47 padding` : ''}):`)
  let width = 0
  for (const f of real) width = Math.max(width, humanSize(f.length).length)
  for (const f of real) lines.push(`  ${humanSize(f.length).padStart(width)}  ${printable(f.path)}`)
  if (m.pieceLayersStatus !== undefined) {
    lines.push(`piece layers: ${pieceLayersText(m)}`)
    lines.push('file tree (BEP 52 pieces roots):')
    for (const f of m.v2Files ?? []) lines.push(`  ${f.piecesRoot === undefined ? '(empty file)'.padEnd(64) : Buffer.from(f.piecesRoot).toString('hex')}  ${printable(f.path)}`)
  }
  return lines.join('\n') + '\n'
}

function dateText (seconds: number): string {
  const d = new Date(seconds * 1000)
  return Number.isNaN(d.getTime()) ? String(seconds) : `${d.toISOString()} (${seconds})`
}

export function magnetJson (m: Magnet): object {
  return {
    kind: 'magnet',
    infoHash: m.infoHashHex,
    ...(m.version === 'v1' ? {} : { version: m.version }),
    ...(m.infoHashV2Hex === undefined ? {} : { infoHashV2: m.infoHashV2Hex }),
    ...(m.name === undefined ? {} : { name: m.name }),
    trackers: m.trackers,
    peers: m.peers,
    webSeeds: m.webSeeds,
    ...(m.selectOnly === undefined ? {} : { selectOnly: m.selectOnly })
  }
}

function magnetText (m: Magnet): string {
  const lines = [
    m.version === 'v2' ? `info hash:    ${m.infoHashHex} (v2 hash truncated: the swarm id)` : `info hash:    ${m.infoHashHex}`,
    `name:         ${m.name === undefined ? '(none given)' : printable(m.name)}`,
    'metadata:     not fetched (a magnet holds only what is shown here)'
  ]
  if (m.infoHashV2Hex !== undefined) lines.push(`v2 hash:      ${m.infoHashV2Hex}`)
  lines.push(m.trackers.length === 0 ? 'trackers:     none' : 'trackers:')
  for (const t of m.trackers) lines.push(`  ${printable(t)}`)
  if (m.peers.length > 0) lines.push('peers:')
  for (const p of m.peers) lines.push(`  ${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`)
  if (m.webSeeds.length > 0) lines.push('web seeds:')
  for (const u of m.webSeeds) lines.push(`  ${printable(u)}`)
  if (m.selectOnly !== undefined) lines.push(`select only:  files ${m.selectOnly.join(', ')}`)
  return lines.join('\n') + '\n'
}

async function writeTorrentFile (path: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFile(path, bytes)
  } catch (err) {
    throw toStorageError('write', path, err)
  }
}
