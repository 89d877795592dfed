/**
 * The download's options in words, shared by `bt-stream --help` and `bt-stream download --help`
 * so the two never disagree. Kept free of imports: the top-level help loads no swarm module.
 */
export const OUTPUT_HELP = `  -o PATH            write to disk instead of stdout (resumable: a rerun keeps every piece that
                     verifies, fetches the rest; files are NAME.part until complete):
                       PATH an existing directory: the torrent lands inside it, as PATH/NAME
                       (its one file, or the directory of a multi-file torrent's files);
                       otherwise a single-file torrent is written to PATH itself, and a
                       multi-file torrent to PATH/NAME/...
  --seed             with -o: keep seeding after the download, until Ctrl-C
  --file SEL         one file of a multi-file torrent: its index or path (see bt-stream info);
                     with -o or --tar it may be given more than once
  --tar              the torrent's files (or the --file ones) on stdout as a tar archive, in
                     torrent order, while it downloads: | tar x`

export const PROGRESS_HELP = `  --progress         the progress line on stderr even when it is not a terminal: done/total,
                     rate, up (uploaded, rate, ratio) with -o, peers, ETA, a failing tracker
  --json             progress as JSON lines on stderr instead, one object a line ("event":
                     check, progress, peers, announce, tracker-error, peer-banned, complete,
                     listening, seeding), the last one {"event":"summary","ok":...}
  --quiet            nothing on stderr but the error, if any`

export const DOWNLOAD_OPTIONS_HELP = `${OUTPUT_HELP}
  --max-peers N      open connections at most (default 50)
  --window SIZE      bytes held in memory ahead of stdout (default 16M)
  --port N           the port announced to trackers; with -o also the port peers may dial us
                     on while we download and upload (default: any free port)
  --host ADDR        with -o: the address to accept peers on (default: every interface)
  --peer LIST        extra peers to dial: host:port[,host:port...] (repeatable)
  --no-trackers      do not ask the torrent's trackers (use --peer)
  --no-dht           never ask the DHT (BEP 5); it is asked for magnets and torrents without
                     trackers, and when every tracker failed (never for private torrents)
  --dht-bootstrap L  DHT nodes to join through: host:port[,host:port...] (repeatable; default: public routers)
  --dht-port N       UDP port of our DHT node
  --metadata-timeout S  a magnet's metadata must arrive within S seconds (default 120)
  --stall-timeout S  give up after S seconds with no peer and no data (default 60)
  --encryption P     MSE/PE protocol encryption: prefer (default: plaintext first, encrypted
                     when a peer requires it), require (RC4 only), off (plaintext only)
  --no-webseeds      do not use the torrent's web seeds (BEP 19 url-list, a magnet's ws=)
  --max-download-rate R  bytes per second from all peers together (500K, 2M); default no limit
  --max-upload-rate R    bytes per second to all peers together (with -o, and while seeding)
  --seed-ratio R     with --seed: stop seeding once uploaded / size reaches R (1, 2.5)
  --seed-time S      with --seed: stop seeding after S seconds
  --no-utp           TCP only: never dial or accept uTP (BEP 29)
  --utp-only         uTP only: never dial TCP (peers that speak only uTP); default: both,
                     TCP first, uTP when TCP is refused or slow (needs the optional utp-native)
${PROGRESS_HELP}
  --help             this text`
