"""A libtorrent 2.0 seeder of a torrent it makes itself, for test/v2/libtorrent-download.test.ts.

Run with /usr/bin/python3 (python3-libtorrent):

  libtorrent-v2-seeder.py <v2|hybrid> <data path> <torrent out> <piece length>

Makes <torrent out> from <data path> (a file or a directory) with lt.create_torrent (v2-only, or
hybrid), seeds it on 127.0.0.1 (a free port), and prints one JSON line once seeding:
{"port": N, "v1": hex or null, "v2": hex}. Runs until stdin closes (the test ends it that way, or
by PID).
"""
import json
import os
import sys
import threading
import time

import libtorrent as lt

mode, data, out, piece_length = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
parent = os.path.dirname(os.path.abspath(data))
fs = lt.file_storage()
lt.add_files(fs, data)
ct = lt.create_torrent(fs, piece_length, flags=lt.create_torrent.v2_only if mode == 'v2' else 0)
ct.set_creator('libtorrent ' + lt.__version__)
lt.set_piece_hashes(ct, parent)
with open(out, 'wb') as f:
    f.write(lt.bencode(ct.generate()))

ses = lt.session({
    'listen_interfaces': '127.0.0.1:0',
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'alert_mask': 0,
    # Plaintext both ways is enough here; MSE has its own interop tests.
    'allow_multiple_connections_per_ip': True,
})
atp = lt.add_torrent_params()
atp.ti = lt.torrent_info(out)
atp.save_path = parent
h = ses.add_torrent(atp)
deadline = time.time() + 60
while not h.status().is_seeding:
    if time.time() > deadline:
        print('NOT SEEDING', flush=True)
        sys.exit(1)
    time.sleep(0.05)
ih = atp.ti.info_hashes()
print(json.dumps({
    'port': ses.listen_port(),
    'v1': str(ih.v1) if ih.has_v1() else None,
    'v2': str(ih.v2),
}), flush=True)
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
done.wait(300)
