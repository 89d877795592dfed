#!/usr/bin/python3
"""Seeders for the download benchmark: N libtorrent 2.0 sessions on 127.0.0.1 seeding one file.

Run with Debian's /usr/bin/python3 (python3-libtorrent), not a pyenv python:

  /usr/bin/python3 bench/libtorrent-seeders.py DATA TORRENT [--seeders 4] [--piece-kib 256]
                                               [--tracker URL]

Creates TORRENT (v1 only, no announce) from DATA if it is missing, then starts the sessions and
prints one JSON line on stdout: {"ports": [...], "torrent": "...", "pieces": N}. A line "stats N" on
stdin prints {"seq": N, "uploaded": BYTES}. It exits when its stdin closes, so the benchmark that started it
can always end it (and it also kills it by PID).
"""
import json
import os
import sys
import threading
import time

import libtorrent as lt

from libtorrent_loopback import loopback_settings, make_torrent

# Loopback moves GB/s: the default 500 KB send watermark keeps too little in flight per peer.
SEND_BUFFER_WATERMARK = 16 * 1024 * 1024
SEND_BUFFER_LOW_WATERMARK = 4 * 1024 * 1024


def parse_args(argv):
    opts = {'seeders': 4, 'piece-kib': 256, 'tracker': None}
    pos = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith('--'):
            key = a[2:]
            if key not in opts or i + 1 >= len(argv):
                sys.exit('usage: libtorrent-seeders.py DATA TORRENT [--seeders N] [--piece-kib K] [--tracker URL]')
            opts[key] = argv[i + 1]
            i += 2
        else:
            pos.append(a)
            i += 1
    if len(pos) != 2:
        sys.exit('usage: libtorrent-seeders.py DATA TORRENT [--seeders N] [--piece-kib K] [--tracker URL]')
    return pos[0], pos[1], int(opts['seeders']), int(opts['piece-kib']) * 1024, opts['tracker']


def session_settings():
    return {
        **loopback_settings(lt.alert_category.error),
        # A tracker on 127.0.0.1 is refused by default (SSRF mitigation).
        'ssrf_mitigation': False,
        'choking_algorithm': lt.choking_algorithm_t.fixed_slots_choker,
        'seed_choking_algorithm': lt.seed_choking_algorithm_t.fastest_upload,
        'unchoke_slots_limit': -1,
        'send_buffer_watermark': SEND_BUFFER_WATERMARK,
        'send_buffer_low_watermark': SEND_BUFFER_LOW_WATERMARK,
        'send_buffer_watermark_factor': 150,
        'max_allowed_in_request_queue': 4000,
        'upload_rate_limit': 0,
        'connections_limit': 500,
    }


def start_seeder(ti, data, tracker):
    ses = lt.session(session_settings())
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = os.path.dirname(os.path.abspath(data))
    # The file is the one the torrent was made from: mark every piece had instead of re-hashing
    # 1 GiB in each session (seed_mode would hash each piece on its first upload instead, during
    # the measurement).
    atp.have_pieces = [True] * ti.num_pieces()
    atp.flags = lt.torrent_flags.default_flags & ~lt.torrent_flags.paused & ~lt.torrent_flags.auto_managed
    if tracker:
        atp.trackers = [tracker]
    handle = ses.add_torrent(atp)
    return ses, handle


def wait_seeding(handle, deadline):
    while time.time() < deadline:
        st = handle.status()
        if st.is_seeding and st.state == lt.torrent_status.seeding:
            return True
        time.sleep(0.05)
    return False


def main():
    data, torrent, count, piece_length, tracker = parse_args(sys.argv[1:])
    if not os.path.exists(torrent):
        # v1 only: bt-stream (like most clients) reads BEP 3 metainfo.
        make_torrent(data, torrent, piece_length, lt.create_torrent.v1_only, 'bt-stream bench')
    ti = lt.torrent_info(torrent)
    seeders = [start_seeder(ti, data, tracker) for _ in range(count)]
    deadline = time.time() + 60
    for _, handle in seeders:
        if not wait_seeding(handle, deadline):
            sys.exit('libtorrent seeders: a session did not reach the seeding state in 60 s')
    ports = [ses.listen_port() for ses, _ in seeders]
    print(json.dumps({'ports': ports, 'torrent': torrent, 'pieces': ti.num_pieces()}), flush=True)

    # Drain alerts so they do not pile up; errors go to stderr for the benchmark's log.
    stop = threading.Event()

    def pump():
        while not stop.is_set():
            for ses, _ in seeders:
                for a in ses.pop_alerts():
                    if a.category() & lt.alert_category.error:
                        sys.stderr.write('libtorrent: %s\n' % a.message())
            stop.wait(0.5)

    threading.Thread(target=pump, daemon=True).start()
    # One command on stdin: "stats N" prints the payload bytes uploaded so far (all sessions), so the
    # benchmark sees what a download cost the swarm (duplicate requests show as more than the file).
    # The loop ends when the parent closes our stdin (or dies).
    for line in sys.stdin:
        words = line.split()
        if len(words) == 2 and words[0] == 'stats':
            uploaded = sum(h.status().total_payload_upload for _, h in seeders)
            print(json.dumps({'seq': int(words[1]), 'uploaded': uploaded}), flush=True)
    stop.set()


if __name__ == '__main__':
    main()
