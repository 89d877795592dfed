#!/usr/bin/python3
"""libtorrent 2.0's own leecher, the reference the download benchmark compares bt-stream with.

  /usr/bin/python3 bench/libtorrent-leecher.py TORRENT SAVE_DIR HOST:PORT[,HOST:PORT...]

Downloads into SAVE_DIR (the benchmark gives a temp dir on /dev/shm and removes it), dialing the
given peers itself (no tracker, no DHT). Prints "first" on stdout when the first piece has been
verified and "done" when the torrent is complete, so the benchmark timestamps both on its own
clock; exits 0 after "done".
"""
import sys

import libtorrent as lt

from libtorrent_loopback import start_leecher, wait_complete

TIMEOUT_S = 300


def main():
    ses, handle = start_leecher('usage: libtorrent-leecher.py TORRENT SAVE_DIR HOST:PORT[,HOST:PORT...]',
                                lt.alert_category.error | lt.alert_category.status | lt.alert_category.piece_progress)
    if wait_complete(ses, handle, TIMEOUT_S, lambda: print('first', flush=True)):
        print('done', flush=True)
        return 0
    sys.exit('libtorrent leecher: not complete after %d s' % TIMEOUT_S)


if __name__ == '__main__':
    sys.exit(main())
