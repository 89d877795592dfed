import { downloadToDisk } from '../../session/download-to-disk.js'
import { selectFiles } from '../../session/selection.js'
import { DownloadError } from '../../util/errors.js'
import { humanSize } from '../../util/format.js'
import { optionString, type ParsedArgs } from '../args.js'
import type { CliIO } from '../io.js'
import { progressLine, swarmOptions, type LoadedMeta } from '../swarm-args.js'
import { runSeed } from './seed.js'

/**
 * `bt-stream x.torrent -o PATH`: resume check, then the download into PATH. Stdout stays empty;
 * progress (checking, then downloading) goes to stderr like the stdout mode's.
 */
export async function toDisk ({ meta, peers }: LoadedMeta, out: string, sels: readonly string[], args: ParsedArgs, io: CliIO): Promise<number> {
  const files = selectFiles(meta, sels)
  const common = swarmOptions(args, meta, io)
  const { show, line } = progressLine(args, io)
  let lastCheckDraw = 0
  const dl = await downloadToDisk(meta, out, {
    ...common,
    peers: [...common.peers, ...peers],
    files,
    listenHost: optionString(args, 'host'),
    signal: io.signal,
    onCheck: p => {
      const now = Date.now()
      if (!show || (now - lastCheckDraw < 250 && p.checked < p.total)) return
      lastCheckDraw = now
      line.drawText(`checking existing data: ${p.checked}/${p.total} pieces, ${p.verified} good`)
    }
  })
  const total = dl.progress.total
  // The last line is drawn after the swarm closed: it shows the peers we had, not zero.
  let peerCount = 0
  const draw = (): void => {
    const p = dl.progress
    if (p.peers > 0) peerCount = p.peers
    line.draw({ delivered: p.resumed + p.verified, total, rate: p.rate, peers: peerCount })
  }
  const timer = show ? setInterval(draw, 500) : undefined
  try {
    await dl.done
    if (show) {
      draw()
      line.done()
      const p = dl.progress
      io.stderr.write(`bt-stream: ${out}: ${humanSize(total)} complete (${humanSize(p.resumed)} already on disk, ${humanSize(p.verified)} downloaded)\n`)
    }
    if (args.options.has('seed')) {
      await dl.stop()
      // Every wanted piece verified on its way to disk: seed them without hashing them again.
      await (await runSeed(meta, out, args, io, dl.storage.layout.wanted)).closed
    }
    return 0
  } catch (err) {
    if (io.signal.aborted) throw new DownloadError(String((io.signal.reason as Error | undefined)?.message ?? 'stopped'))
    throw err
  } finally {
    if (timer !== undefined) clearInterval(timer)
    if (show) line.done()
    await dl.stop()
  }
}
