"""A libtorrent 2.0 seeder for test/v2/libtorrent-hashes.test.ts (run with /usr/bin/python3).

argv: <torrent> <save path>. Listens on 127.0.0.1 (a free port), checks the files, prints
"PORT <n>" once seeding, then runs until stdin closes (the test ends it that way, or by PID).
"""
import sys
import threading
import time

import libtorrent as lt

ses = lt.session({
    'listen_interfaces': '127.0.0.1:0',
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'alert_mask': 0,
})
atp = lt.add_torrent_params()
atp.ti = lt.torrent_info(sys.argv[1])
atp.save_path = sys.argv[2]
h = ses.add_torrent(atp)
deadline = time.time() + 60
while not h.status().is_seeding:
    if time.time() > deadline:
        print('NOT SEEDING', flush=True)
        sys.exit(1)
    time.sleep(0.05)
print('PORT', ses.listen_port(), flush=True)
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
done.wait(120)
