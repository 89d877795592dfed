/**
 * The contract every real-client driver of the interop suite implements (`npm run interop`,
 * test/interop/). A driver starts one real BitTorrent client (libtorrent, aria2c, Transmission,
 * rtorrent, ctorrent, webtorrent) as a seeder or a leecher on loopback and stops it by the PID it
 * started. Drivers never reach beyond 127.0.0.0/8.
 */

export interface SwarmFiles {
  /** The .torrent the client is given (already written on disk). */
  readonly torrentPath: string
  /** The torrent's name (a file for single-file torrents, a directory for multi-file ones). */
  readonly name: string
  /** Single-file or multi-file. */
  readonly multiFile: boolean
}

export interface SeedOptions extends SwarmFiles {
  /** The directory that holds `name` with the complete payload. */
  readonly dataDir: string
  /** Loopback address the client should bind (rtorrent and ctorrent need 127.0.0.2, see README). */
  readonly host: string
  /** A free TCP port picked by the harness (the client listens there). */
  readonly port: number
  /** Peers the client should dial (for clients that never accept from loopback). */
  readonly dial?: ReadonlyArray<{ host: string, port: number }>
}

export interface LeechOptions extends SwarmFiles {
  /** An empty directory where the client saves `name`. */
  readonly saveDir: string
  /** Loopback address the client should bind. */
  readonly host: string
  /** A free TCP port picked by the harness (the client listens there, so a seeder may dial it). */
  readonly port: number
  /** The seeders to dial (our bt-stream seed). */
  readonly peers: ReadonlyArray<{ host: string, port: number }>
}

export interface RunningClient {
  /** Where the client listens (for our side to dial). */
  readonly host: string
  readonly port: number
  /** The client's own log lines so far (for a failure message). */
  log (): string
  /** Stops the process the driver started (by its PID) and removes its state dirs. Idempotent. */
  stop (): Promise<void>
}

export interface RunningLeecher extends RunningClient {
  /** Resolves when the client reports the download complete (its own check), rejects on exit or timeout. */
  readonly done: Promise<void>
}

export interface InteropClient {
  /** Short name for the results table: 'libtorrent', 'aria2c', 'transmission', ... */
  readonly name: string
  /**
   * The loopback address the harness gives this client as `host` (default '127.0.0.1'). rtorrent
   * and ctorrent take a peer on their own IP for themselves: they get '127.0.0.2'.
   */
  readonly host?: string
  /**
   * When it leeches, the client does not dial the `peers` it is given (Transmission never dials
   * 127.x): the harness then makes our seed dial the client instead (our seed announces to a
   * tracker on 127.0.0.1 that lists only the client's host and port).
   */
  readonly mustBeDialed?: boolean
  /** Version string, once `available()` said yes. */
  version (): Promise<string>
  /** undefined when the client can run here; otherwise why not (e.g. "apt-get install aria2"). */
  unavailable (): Promise<string | undefined>
  /** Seeds the complete payload in `dataDir`. Resolves once the client listens / is ready. */
  seed (opts: SeedOptions): Promise<RunningClient>
  /** Downloads into `saveDir`; `done` resolves when the client has it all. */
  leech (opts: LeechOptions, timeoutMs: number): Promise<RunningLeecher>
}
