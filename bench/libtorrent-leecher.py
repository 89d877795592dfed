#!/usr/bin/python3
"""libtorrent 2.0's own leecher, the reference the download benchmark compares bt-stream with.

  /usr/bin/python3 bench/libtorrent-leecher.py TORRENT SAVE_DIR HOST:PORT[,HOST:PORT...]

Downloads into SAVE_DIR (the benchmark gives a temp dir on /dev/shm and removes it), dialing the
given peers itself (no tracker, no DHT). Prints "first" on stdout when the first piece has been
verified and "done" when the torrent is complete, so the benchmark timestamps both on its own
clock; exits 0 after "done".
"""
import os
import sys
import time

import libtorrent as lt

from libtorrent_loopback import loopback_settings

TIMEOUT_S = 300


def main():
    if len(sys.argv) != 4:
        sys.exit('usage: libtorrent-leecher.py TORRENT SAVE_DIR HOST:PORT[,HOST:PORT...]')
    torrent, save_dir, peer_list = sys.argv[1:]
    peers = []
    for p in peer_list.split(','):
        host, port = p.rsplit(':', 1)
        peers.append((host, int(port)))
    ses = lt.session({
        **loopback_settings(lt.alert_category.error | lt.alert_category.status | lt.alert_category.piece_progress),
        'max_out_request_queue': 1500,
    })
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(torrent)
    atp.save_path = save_dir
    atp.flags = lt.torrent_flags.default_flags & ~lt.torrent_flags.paused & ~lt.torrent_flags.auto_managed
    handle = ses.add_torrent(atp)
    for peer in peers:
        handle.connect_peer(peer)
    first = False
    deadline = time.time() + TIMEOUT_S
    while time.time() < deadline:
        ses.wait_for_alert(100)
        for a in ses.pop_alerts():
            if isinstance(a, lt.piece_finished_alert) and not first:
                first = True
                print('first', flush=True)
            elif isinstance(a, lt.torrent_finished_alert):
                print('done', flush=True)
                return 0
            elif a.category() & lt.alert_category.error:
                sys.stderr.write('libtorrent: %s\n' % a.message())
    sys.exit('libtorrent leecher: not complete after %d s' % TIMEOUT_S)


if __name__ == '__main__':
    sys.exit(main())
