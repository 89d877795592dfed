import { startDhtAnnounce } from '../../session/dht-source.js'
import { downloadToDisk } from '../../session/download-to-disk.js'
import { watchSeedStop } from '../../session/seed-stop.js'
import { selectFiles } from '../../session/selection.js'
import { DownloadError } from '../../util/errors.js'
import { humanSize } from '../../util/format.js'
import { optionString, type ParsedArgs } from '../args.js'
import type { CliIO } from '../io.js'
import { createReporter } from '../reporter.js'
import { dhtOptions, seedStopOptions, swarmOptions, type LoadedMeta } from '../swarm-args.js'
import { seedingPhase } from './seed.js'

/**
 * `bt-stream x.torrent -o PATH`: resume check, then the download into PATH. Stdout stays empty;
 * progress (checking, then downloading) goes to stderr like the stdout mode's. With `--seed` the
 * download's swarm goes on as a seed once complete (lib/swarm/seed-mode.ts): the same port, the
 * same connections (the peers we served keep theirs), the trackers told `completed`.
 */
export async function toDisk ({ meta, peers }: LoadedMeta, out: string, sels: readonly string[], args: ParsedArgs, io: CliIO): Promise<number> {
  const files = selectFiles(meta, sels)
  const common = swarmOptions(args, meta, io)
  const report = createReporter(args, io)
  const seeds = args.options.has('seed')
  let lastCheckDraw = 0
  const dl = await downloadToDisk(meta, out, {
    ...common,
    peers: [...common.peers, ...peers],
    files,
    keepSeeding: seeds,
    listenHost: optionString(args, 'host'),
    signal: io.signal,
    onCheck: p => {
      const now = Date.now()
      if (!report.active || (now - lastCheckDraw < 250 && p.checked < p.total)) return
      lastCheckDraw = now
      report.check(`checking existing data: ${p.checked}/${p.total} pieces, ${p.verified} good`, p)
    }
  }).catch((err: unknown) => { throw report.failed(err, { output: out }) })
  const listenPort = dl.port
  if (listenPort !== undefined) report.message(`accepting peers on port ${listenPort}`, { event: 'listening', port: listenPort, phase: 'download' })
  dl.on('tracker-error', f => report.trackerError(f))
  dl.on('announce', info => report.announce(info))
  dl.on('peer-banned', (addr, reason) => report.peerBanned(addr, reason))
  const total = dl.progress.total
  // The swarm closes its peers once the last piece is in: the last line shows those we had then.
  let peersAtLastPiece = 0
  dl.swarm.on('piece', () => { peersAtLastPiece = dl.swarm.stats.peers })
  const draw = (): void => {
    const p = dl.progress
    report.progress({ delivered: p.resumed + p.verified, total, rate: p.rate, peers: dl.swarm.picker.complete ? peersAtLastPiece : p.peers, downloaded: p.verified, uploaded: p.uploaded })
  }
  let timer = report.active ? setInterval(draw, report.intervalMs) : undefined
  const summary = (): Record<string, unknown> => {
    const p = dl.progress
    return { output: out, total, resumed: p.resumed, downloaded: p.verified, uploaded: p.uploaded }
  }
  try {
    await dl.done
    // The download's line ends here: the seeding phase draws its own, never both (issue 11 bug 8).
    clearInterval(timer)
    timer = undefined
    if (report.active) draw()
    report.done()
    const p = dl.progress
    report.message(`${out}: ${humanSize(total)} complete (${humanSize(p.resumed)} already on disk, ${humanSize(p.verified)} downloaded)`, { event: 'complete', ...summary() }, false)
    if (seeds) {
      // Every wanted piece verified on its way to disk: the swarm seeds them, no hashing again.
      // BEP 5: announced to the DHT as `bt-stream seed` does (never for a private torrent).
      const dht = listenPort === undefined ? undefined : startDhtAnnounce(meta.infoHash, listenPort, dhtOptions(args, true), meta.private)
      const close = async (): Promise<void> => { await Promise.all([dl.stop(), dht?.stop()]) }
      const watch = watchSeedStop(seedStopOptions(args), () => dl.progress.uploaded, meta.length, close)
      await seedingPhase(meta, out, args, io, report, {
        port: listenPort,
        pieces: dl.storage.layout.wanted.count(),
        uploaded: () => dl.progress.uploaded,
        peers: () => dl.swarm.stats.peers,
        close: async () => { watch.cancel(); await close() },
        finished: watch.finished
      }, p.verified).closed
    } else {
      report.summary({ ok: true, ...summary() })
    }
    return 0
  } catch (err) {
    report.done()
    if (io.signal.aborted) throw report.failed(new DownloadError(String((io.signal.reason as Error | undefined)?.message ?? 'stopped')), summary())
    throw report.failed(err, summary())
  } finally {
    if (timer !== undefined) clearInterval(timer)
    report.done()
    await dl.stop()
  }
}
