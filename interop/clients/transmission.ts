/**
 * Transmission (Debian transmission-daemon 3.00) as an interop seeder or leecher.
 *
 * One `transmission-daemon -f` per role, with its own config dir (a settings.json written here)
 * and its RPC on a free 127.0.0.1 port; the torrent is added, and its state polled, through the
 * JSON-RPC that transmission-remote uses (HTTP POST /transmission/rpc, with the
 * X-Transmission-Session-Id handshake): no transmission-cli needed, and answers are JSON, not text.
 * Settings for loopback: peers on `host` (IPv4) and ::1 (IPv6) only, no DHT, LPD, PEX, uTP or
 * port mapping, encryption "tolerated" (plaintext preferred; `encryption` chooses another), no
 * speed or ratio limits.
 *
 * Transmission never dials a 127.x peer (it treats loopback addresses as invalid for peers):
 * as a leecher it ignores `peers`, and our seed must dial it (`mustBeDialed`; the harness makes
 * our seed announce to a tracker that lists the client). It does accept loopback connections.
 * `INTEROP_PEER_LOG=1` raises its log to debug (every peer message).
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, start, type Child } from '../proc.js'
import type { InteropClient, LeechOptions, RunningClient, RunningLeecher, SeedOptions } from './types.js'

const BIN = 'transmission-daemon'
/** The daemon answers RPC within a second or two of starting, even on a loaded machine. */
const READY_MS = 30_000
/** How often the torrent's state is asked for: the RPC is cheap on loopback. */
const POLL_MS = 250
/** One RPC call never takes this long on loopback; beyond it the daemon is stuck. */
const RPC_TIMEOUT_MS = 10_000

/** Transmission's torrent status codes (libtransmission tr_torrent_activity). */
const STATUS = { stopped: 0, checkWait: 1, check: 2, downloadWait: 3, download: 4, seedWait: 5, seed: 6 } as const

interface TorrentState {
  status: number
  percentDone: number
  leftUntilDone: number
  error: number
  errorString: string
  peersConnected: number
}

/** Transmission's `encryption` setting: 0 tolerated (plaintext preferred), 1 preferred, 2 required (MSE only). */
export type TransmissionEncryption = 'tolerated' | 'preferred' | 'required'
const ENCRYPTION: Record<TransmissionEncryption, number> = { tolerated: 0, preferred: 1, required: 2 }

export class TransmissionClient implements InteropClient {
  readonly name = 'transmission'
  /** It never dials loopback peers: our seed dials it (see the file comment). */
  readonly mustBeDialed = true

  constructor (private readonly opts: { readonly encryption?: TransmissionEncryption } = {}) {}

  async version (): Promise<string> {
    const r = spawnSync(BIN, ['-V'], { encoding: 'utf8' })
    const m = /transmission-daemon (\S+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)
    return m?.[1] ?? 'unknown'
  }

  async unavailable (): Promise<string | undefined> {
    const r = spawnSync(BIN, ['-V'], { encoding: 'utf8' })
    return r.error !== undefined ? 'transmission-daemon not installed: apt-get install transmission-daemon' : undefined
  }

  async seed (opts: SeedOptions): Promise<RunningClient> {
    const daemon = await TransmissionDaemon.start(opts.host, opts.port, opts.dataDir, ENCRYPTION[this.opts.encryption ?? 'tolerated'])
    try {
      await daemon.add(opts.torrentPath, opts.dataDir)
      await daemon.waitFor(READY_MS, 'Transmission verifying the data', s => s.status === STATUS.seed && s.percentDone === 1)
    } catch (err) {
      await daemon.stop()
      throw err
    }
    return daemon
  }

  async leech (opts: LeechOptions, timeoutMs: number): Promise<RunningLeecher> {
    const daemon = await TransmissionDaemon.start(opts.host, opts.port, opts.saveDir, ENCRYPTION[this.opts.encryption ?? 'tolerated'])
    try {
      await daemon.add(opts.torrentPath, opts.saveDir)
    } catch (err) {
      await daemon.stop()
      throw err
    }
    const done = daemon.waitFor(timeoutMs, 'Transmission download', s => s.percentDone === 1 && s.leftUntilDone === 0 && (s.status === STATUS.seed || s.status === STATUS.seedWait || s.status === STATUS.stopped))
    done.catch(() => {})
    return Object.assign(daemon, { done })
  }
}

class TransmissionDaemon implements RunningClient {
  private sessionId = ''
  private torrentId: number | undefined
  private stopping: Promise<void> | undefined

  private constructor (readonly host: string, readonly port: number, private readonly rpcUrl: string, private readonly conf: string, private readonly child: Child) {}

  static async start (host: string, port: number, downloadDir: string, encryption: number): Promise<TransmissionDaemon> {
    const conf = await mkdtemp(join(tmpdir(), 'bt-stream-transmission-'))
    const rpcPort = await freePort('127.0.0.1')
    const debug = process.env.INTEROP_PEER_LOG === '1'
    const settings = {
      'bind-address-ipv4': host,
      'bind-address-ipv6': '::1',
      'peer-port': port,
      'peer-port-random-on-start': false,
      'port-forwarding-enabled': false,
      'dht-enabled': false,
      'lpd-enabled': false,
      'pex-enabled': false,
      'utp-enabled': false,
      // 0 (default here): tolerated, plaintext preferred and MSE accepted.
      encryption,
      'download-dir': downloadDir,
      'incomplete-dir-enabled': false,
      'rename-partial-files': false,
      'start-added-torrents': true,
      'speed-limit-up-enabled': false,
      'speed-limit-down-enabled': false,
      'alt-speed-enabled': false,
      'ratio-limit-enabled': false,
      'idle-seeding-limit-enabled': false,
      'blocklist-enabled': false,
      'rpc-enabled': true,
      'rpc-bind-address': '127.0.0.1',
      'rpc-port': rpcPort,
      'rpc-authentication-required': false,
      'rpc-whitelist-enabled': true,
      'rpc-whitelist': '127.0.0.1',
      'rpc-host-whitelist-enabled': false,
      'message-level': debug ? 3 : 2
    }
    await writeFile(join(conf, 'settings.json'), JSON.stringify(settings, null, 2))
    const child = start(BIN, ['-f', '-g', conf])
    const daemon = new TransmissionDaemon(host, port, `http://127.0.0.1:${rpcPort}/transmission/rpc`, conf, child)
    try {
      await daemon.untilRpcAnswers()
    } catch (err) {
      await daemon.stop()
      throw err
    }
    return daemon
  }

  log (): string { return this.child.log.toString() }

  /** Adds the .torrent, saving into (or seeding from) `dir`. */
  async add (torrentPath: string, dir: string): Promise<void> {
    const metainfo = (await readFile(torrentPath)).toString('base64')
    const args = await this.rpc('torrent-add', { metainfo, 'download-dir': dir, paused: false })
    const added = (args['torrent-added'] ?? args['torrent-duplicate']) as { id?: number } | undefined
    if (typeof added?.id !== 'number') throw new Error(`Transmission did not add the torrent: ${JSON.stringify(args)}`)
    this.torrentId = added.id
  }

  /** Resolves when the torrent's state satisfies `ok`; rejects on the daemon's exit, a torrent error, or after `ms`. */
  async waitFor (ms: number, what: string, ok: (s: TorrentState) => boolean): Promise<void> {
    const deadline = Date.now() + ms
    let last: TorrentState | undefined
    while (true) {
      if (this.child.proc.exitCode !== null || this.child.proc.signalCode !== null) {
        throw new Error(`${what}: transmission-daemon exited (${this.child.proc.signalCode ?? `code ${this.child.proc.exitCode}`}) first\n${this.log()}`)
      }
      last = await this.state()
      if (ok(last)) return
      // error 3 is a local error (disk); 1 and 2 are tracker warnings/errors, harmless here.
      if (last.error === 3) throw new Error(`${what}: Transmission says: ${last.errorString}\n${this.log()}`)
      if (Date.now() > deadline) throw new Error(`${what}: not done after ${ms / 1000} s (last state ${JSON.stringify(last)})\n${this.log()}`)
      await sleep(POLL_MS)
    }
  }

  stop (): Promise<void> {
    this.stopping ??= (async () => {
      await this.child.stop()
      await rm(this.conf, { recursive: true, force: true })
    })()
    return this.stopping
  }

  private async state (): Promise<TorrentState> {
    const args = await this.rpc('torrent-get', { ids: [this.torrentId], fields: ['status', 'percentDone', 'leftUntilDone', 'error', 'errorString', 'peersConnected'] })
    const t = (args.torrents as TorrentState[] | undefined)?.[0]
    if (t === undefined) throw new Error('Transmission lost the torrent')
    return t
  }

  private async untilRpcAnswers (): Promise<void> {
    const deadline = Date.now() + READY_MS
    while (true) {
      try {
        await this.rpc('session-get', {})
        return
      } catch (err) {
        if (this.child.proc.exitCode !== null || this.child.proc.signalCode !== null) throw new Error(`transmission-daemon exited at start\n${this.log()}`)
        if (Date.now() > deadline) throw new Error(`transmission-daemon RPC silent for ${READY_MS / 1000} s: ${(err as Error).message}\n${this.log()}`)
        await sleep(POLL_MS)
      }
    }
  }

  /** One JSON-RPC call; a 409 hands out the session id to repeat it with (CSRF guard). */
  private async rpc (method: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await fetch(this.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-transmission-session-id': this.sessionId },
        body: JSON.stringify({ method, arguments: args }),
        signal: AbortSignal.timeout(RPC_TIMEOUT_MS)
      })
      if (res.status === 409) {
        this.sessionId = res.headers.get('x-transmission-session-id') ?? ''
        await res.body?.cancel()
        continue
      }
      const body = await res.json() as { result?: string, arguments?: Record<string, unknown> }
      if (body.result !== 'success') throw new Error(`Transmission RPC ${method}: ${body.result ?? res.status}`)
      return body.arguments ?? {}
    }
    throw new Error(`Transmission RPC ${method}: no session id`)
  }
}

function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** The driver `clients/index.ts` lists. */
export const transmission = new TransmissionClient()
