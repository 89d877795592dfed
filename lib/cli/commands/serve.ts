import { spawn, type ChildProcess } from 'node:child_process'
import { statfs } from 'node:fs/promises'
import { dirname } from 'node:path'
import { startTorrentServer, DEFAULT_MAX_READERS } from '../../serve/http-server.js'
import { isMedia } from '../../serve/content-type.js'
import { fileUrl } from '../../serve/index-page.js'
import { openStream } from '../../session/stream-engine.js'
import type { Metainfo } from '../../metainfo/types.js'
import { UsageError } from '../../util/errors.js'
import { humanSize } from '../../util/format.js'
import { optionInt, optionString, parseArgs, type OptionSpec } from '../args.js'
import type { Command } from '../io.js'
import { formatSeeding, shareRatio } from '../progress-line.js'
import { loadMeta, progressLine, swarmOptions, SWARM_OPTIONS } from '../swarm-args.js'

const HELP = `usage: bt-stream serve <file.torrent | magnet:?...> [options]

Serves the torrent's files over HTTP while it downloads, for media players and browsers:
  /               the files (HTML, or JSON with Accept: application/json)
  /playlist.m3u   the media files as a playlist
  /<i>/<name>     file i, with ranges: a player seeks, and the pieces at its position come first
The URL is printed on stderr. Watch with \`mpv URL/playlist.m3u\` or \`vlc URL/0/NAME\`.

The torrent is downloaded whole (rarest-first while nobody reads) into a cache directory of
its own, <tmp>/bt-stream-cache/<infohash>-XXXXXX, removed on exit (it grows to the torrent's
size at most); with -o DIR it goes to DIR and stays, and a later run resumes from it. Peers are served what is
on disk while it downloads, and once it is complete serve goes on seeding until it stops.
Stop with Ctrl-C.

options:
  --port N           HTTP port (default: any free port)
  --host ADDR        HTTP address to bind (default 127.0.0.1; another address shares the files
                     with the network)
  -o DIR             keep the download in DIR (DIR/NAME, created; resumable)
  --open CMD         start a player: CMD is run with the URL as its last argument (the file's
                     when the torrent holds one media file, else the playlist's); serve stops
                     when the player exits
  --max-readers N    response bodies at once (default ${DEFAULT_MAX_READERS}); more get 503
  --peer-port N      the BitTorrent port peers may dial us on (default: any free port); --port
                     is the HTTP port only
  --max-peers N      open peer connections at most (default 50)
  --peer LIST        extra peers to dial: host:port[,host:port...]
  --no-trackers      do not ask the torrent's trackers (use --peer)
  --no-dht           never ask the DHT (BEP 5)
  --dht-bootstrap L, --dht-port N, --metadata-timeout S, --encryption M (see bt-stream --help)
  --stall-timeout S  stop downloading after S seconds with no peer and no data (default 60);
                     what is on disk is still served
  --progress, --quiet, --help
`

export const SERVE_OPTIONS: OptionSpec[] = [
  ...SWARM_OPTIONS.filter(o => o.long !== 'port'),
  { long: 'port', value: true },
  { long: 'host', value: true },
  { long: 'output', short: 'o', value: true },
  { long: 'open', value: true },
  { long: 'max-readers', value: true },
  { long: 'peer-port', value: true }
]

export const command: Command = async (argv, io) => {
  const args = parseArgs(argv, SERVE_OPTIONS)
  if (args.options.has('help')) { io.stdout.write(HELP); return 0 }
  if (args.positionals.length !== 1) throw new UsageError('serve takes one .torrent file or magnet URI')
  const httpPort = optionInt(args, 'port', 1, 65535)
  const maxReaders = optionInt(args, 'max-readers', 1, 1000)
  const openCmd = optionString(args, 'open')?.trim().split(/\s+/).filter(s => s !== '')
  if (openCmd !== undefined && openCmd.length === 0) throw new UsageError('--open needs a command')
  // `--port` is the HTTP port here: the BitTorrent one is `--peer-port`, for the magnet's fetch too.
  const { meta, peers } = await loadMeta(args.positionals[0]!, io, args, 'peer-port')
  const common = swarmOptions(args, meta)
  const engine = await openStream(meta, {
    ...common,
    port: optionInt(args, 'peer-port', 1, 65535),
    peers: [...common.peers, ...peers],
    dir: optionString(args, 'output'),
    signal: io.signal
  })
  const quiet = args.options.has('quiet')
  engine.on('error', err => { if (!quiet) io.stderr.write(`bt-stream: the download stopped: ${err.message}; what is on disk is still served\n`) })
  let server: Awaited<ReturnType<typeof startTorrentServer>> | undefined
  let player: ChildProcess | undefined
  const { show, line } = progressLine(args, io)
  let timer: NodeJS.Timeout | undefined
  try {
    server = await startTorrentServer(engine, { host: optionString(args, 'host'), port: httpPort, maxReaders })
    const target = playerUrl(meta, server.url)
    if (!quiet) {
      const free = await freeBytes(engine.cacheDir ?? engine.payload)
      if (free !== undefined && free < engine.progress.total - engine.progress.resumed) {
        io.stderr.write(`bt-stream: note: ${humanSize(free)} free where the download goes, ${humanSize(meta.length)} needed to finish it; -o DIR puts it elsewhere\n`)
      }
      io.stderr.write(`bt-stream: serving "${meta.name}" (${meta.files.filter(f => !f.padding).length} files, ${humanSize(meta.length)}) at ${server.url}/\n`)
      io.stderr.write(`bt-stream: play it: mpv ${target}  (cache: ${engine.cacheDir ?? engine.payload}); Ctrl-C stops\n`)
    }
    if (show) {
      // Serve uploads as it downloads, and seeds once complete: the line says what went up.
      let last = { at: Date.now(), bytes: 0 }
      timer = setInterval(() => {
        const p = engine.progress
        const now = Date.now()
        const upload = { bytes: p.uploaded, rate: (p.uploaded - last.bytes) * 1000 / Math.max(1, now - last.at), ratio: shareRatio(p.uploaded, p.verified, meta.length) }
        last = { at: now, bytes: p.uploaded }
        if (engine.complete) line.drawText(formatSeeding({ upload, peers: p.peers }))
        else line.draw({ delivered: p.resumed + p.verified, total: p.total, rate: p.rate, peers: p.peers, upload })
      }, 500)
    }
    const stopped = new Promise<number>(resolve => {
      if (io.signal.aborted) { resolve(0); return }
      io.signal.addEventListener('abort', () => resolve(0), { once: true })
      if (openCmd !== undefined) {
        player = spawn(openCmd[0]!, [...openCmd.slice(1), target], { stdio: 'ignore' })
        player.on('error', err => {
          io.stderr.write(`bt-stream: --open ${openCmd[0]!}: ${err.message}\n`)
          resolve(1)
        })
        player.on('exit', () => resolve(0))
      }
    })
    return await stopped
  } finally {
    if (timer !== undefined) clearInterval(timer)
    if (show) line.done()
    if (player !== undefined && player.exitCode === null) player.kill()
    await server?.close()
    await engine.close()
  }
}

/** Bytes free on the file system holding `path` (undefined when it cannot be told). */
async function freeBytes (path: string): Promise<number | undefined> {
  try {
    const st = await statfs(dirname(path))
    return st.bavail * st.bsize
  } catch {
    return undefined
  }
}

/** What `--open` plays: the one media file when there is one (or one file at all), else the playlist. */
function playerUrl (meta: Metainfo, base: string): string {
  const files = meta.files.map((f, i) => ({ f, i })).filter(({ f }) => !f.padding)
  const media = files.filter(({ f }) => isMedia(f.path))
  const one = media.length === 1 ? media[0] : files.length === 1 ? files[0] : undefined
  return one === undefined ? `${base}/playlist.m3u` : base + fileUrl(one.i, one.f.path)
}
