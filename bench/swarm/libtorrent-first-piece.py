#!/usr/bin/python3
"""libtorrent 2.0's first verified piece after its first unchoke, for the first-byte row of the
swarm benchmark (issue 18): the leecher of bench/libtorrent-leecher.py (same session settings),
with the peer log on, so the unchoke it receives is seen.

  /usr/bin/python3 bench/swarm/libtorrent-first-piece.py TORRENT SAVE_DIR HOST:PORT[,HOST:PORT...]

Prints one JSON line {"unchoke": U, "first": F} (seconds since its session was made, on its own
clock) once the first piece is verified, then exits 0 without downloading the rest. The peer log
costs CPU per message: this script is only for the first piece, never for a throughput row.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import libtorrent as lt  # noqa: E402

from libtorrent_loopback import alerts, start_leecher  # noqa: E402

TIMEOUT_S = 120
# The peer log line of an unchoke the remote peer sent us ("<==": incoming; ">>> UNCHOKE" is ours).
UNCHOKE_RECEIVED = '<== UNCHOKE'


def main():
    t0 = time.monotonic()
    ses, _ = start_leecher('usage: libtorrent-first-piece.py TORRENT SAVE_DIR HOST:PORT[,HOST:PORT...]',
                           lt.alert_category.error | lt.alert_category.peer_log | lt.alert_category.piece_progress)
    unchoke = None
    for a in alerts(ses, TIMEOUT_S):
        if isinstance(a, lt.peer_log_alert):
            if unchoke is None and UNCHOKE_RECEIVED in a.message():
                unchoke = time.monotonic() - t0
        elif isinstance(a, lt.piece_finished_alert):
            print(json.dumps({'unchoke': unchoke, 'first': time.monotonic() - t0}), flush=True)
            return 0
    sys.exit('libtorrent first piece: none after %d s' % TIMEOUT_S)


if __name__ == '__main__':
    sys.exit(main())
