#!/usr/bin/python3
"""Seeders for the v1-versus-v2 benchmark (bench/v2.ts): N libtorrent 2.0 sessions on 127.0.0.1,
each seeding the same DATA as a v1-only torrent and as a v2-only torrent.

  /usr/bin/python3 bench/v2-seeders.py DATA OUTDIR PIECE_KIB SEEDERS [RATE_KIB]

RATE_KIB: each session's upload limit in KiB/s (a thin uplink, for time to first byte); none by
default.

Makes OUTDIR/<data>-<K>K-v1.torrent and -v2.torrent if missing (lt.create_torrent, v1_only /
v2_only), starts the sessions and prints one JSON line: {"ports": [...], "v1": path, "v2": path}.
Exits when its stdin closes (the benchmark also kills it by PID).
"""
import json
import os
import sys
import time

import libtorrent as lt

from libtorrent_loopback import loopback_settings, make_torrent


def make_torrent_once(data, path, piece_length, flags):
    if not os.path.exists(path):
        make_torrent(data, path, piece_length, flags, 'bt-stream v2 bench')


def main():
    data, outdir, piece_kib, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rate_kib = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    base = os.path.join(outdir, os.path.basename(data).rsplit('.', 1)[0] + '-%dK' % piece_kib)
    paths = {'v1': base + '-v1.torrent', 'v2': base + '-v2.torrent'}
    make_torrent_once(data, paths['v1'], piece_kib * 1024, lt.create_torrent.v1_only)
    make_torrent_once(data, paths['v2'], piece_kib * 1024, lt.create_torrent.v2_only)
    sessions = []
    handles = []
    for _ in range(count):
        ses = lt.session({
            **loopback_settings(lt.alert_category.error),
            'unchoke_slots_limit': -1,
            'send_buffer_watermark': 16 * 1024 * 1024,
            'send_buffer_low_watermark': 4 * 1024 * 1024,
            'max_allowed_in_request_queue': 4000,
            'connections_limit': 500,
            'upload_rate_limit': rate_kib * 1024,
            # The rate limiter hands out quota each tick (500 ms by default): bursts of half a
            # second of data. A short tick makes the limited uplink a trickle, as a real one is.
            # And it asks the limiter for quota by the send buffer's watermark: a small one, or the
            # first bytes wait for a large grant (16 MiB at 1 MiB/s).
            **({'tick_interval': 20, 'send_buffer_watermark': 32 * 1024, 'send_buffer_low_watermark': 16 * 1024} if rate_kib > 0 else {}),
        })
        if rate_kib > 0:
            # libtorrent puts loopback peers in its unlimited "local" class: put every address in
            # the global class, whose limit upload_rate_limit sets.
            f = lt.ip_filter()
            f.add_rule('0.0.0.0', '255.255.255.255', 1 << lt.session.global_peer_class_id)
            ses.set_peer_class_filter(f)
        for path in paths.values():
            ti = lt.torrent_info(path)
            atp = lt.add_torrent_params()
            atp.ti = ti
            atp.save_path = os.path.dirname(os.path.abspath(data))
            # The data is what the torrent was made from: no re-hash of the v1 torrent in every
            # session. The v2 one is checked: libtorrent answers block-hash requests (BEP 52
            # block streaming) only with the leaf hashes that a check computed.
            if path == paths['v1']:
                atp.have_pieces = [True] * ti.num_pieces()
            atp.flags = lt.torrent_flags.default_flags & ~lt.torrent_flags.paused & ~lt.torrent_flags.auto_managed
            handles.append(ses.add_torrent(atp))
        sessions.append(ses)
    deadline = time.time() + 120
    while not all(h.status().is_seeding for h in handles):
        if time.time() > deadline:
            sys.exit('v2 seeders: not seeding after 120 s')
        time.sleep(0.05)
    print(json.dumps({'ports': [s.listen_port() for s in sessions], **paths}), flush=True)
    for _ in sys.stdin:
        pass


if __name__ == '__main__':
    main()
