#!/usr/bin/python3
"""libtorrent 2.0 over uTP on loopback, for bench/utp.ts and test/utp/interop.test.ts.

Run with Debian's /usr/bin/python3 (python3-libtorrent), not a pyenv python:

  /usr/bin/python3 bench/libtorrent-utp.py seed DATA TORRENT [--transport utp|tcp|both] [--piece-kib K]
  /usr/bin/python3 bench/libtorrent-utp.py leech TORRENT SAVE_DIR HOST:PORT[,...] [--transport utp|tcp|both]

seed: one session seeding DATA (TORRENT is made from it, v1, when missing); prints one JSON line
{"port": N, "pieces": N} once seeding. `--transport utp` turns TCP off both ways (what a peer that
speaks only uTP looks like), `tcp` turns uTP off, `both` is libtorrent's default mixed mode.
leech: downloads TORRENT from the peers into SAVE_DIR, prints "done" and exits 0.
Both exit when stdin closes (the parent can always end them; it also kills them by PID).
"""
import json
import os
import sys
import threading
import time

import libtorrent as lt

from libtorrent_loopback import AlertWait, leech_session, loopback_settings, wait_complete

TIMEOUT_S = 300


def transport_settings(transport):
    utp = transport in ('utp', 'both')
    tcp = transport in ('tcp', 'both')
    return {
        'enable_incoming_utp': utp,
        'enable_outgoing_utp': utp,
        'enable_incoming_tcp': tcp,
        'enable_outgoing_tcp': tcp,
    }


def parse(argv):
    opts = {'transport': 'utp', 'piece-kib': '256'}
    pos = []
    i = 0
    while i < len(argv):
        if argv[i].startswith('--') and i + 1 < len(argv):
            opts[argv[i][2:]] = argv[i + 1]
            i += 2
        else:
            pos.append(argv[i])
            i += 1
    return pos, opts


def exit_on_stdin_close():
    def watch():
        for _ in sys.stdin:
            pass
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()


def seed(data, torrent, transport, piece_length):
    if not os.path.exists(torrent):
        fs = lt.file_storage()
        lt.add_files(fs, data)
        ct = lt.create_torrent(fs, piece_length, lt.create_torrent.v1_only)
        lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(data)))
        with open(torrent + '.tmp', 'wb') as f:
            f.write(lt.bencode(ct.generate()))
        os.replace(torrent + '.tmp', torrent)
    ses = lt.session({
        **loopback_settings(lt.alert_category.error),
        **transport_settings(transport),
        'unchoke_slots_limit': -1,
        'send_buffer_watermark': 16 * 1024 * 1024,
        'max_allowed_in_request_queue': 4000,
    })
    ti = lt.torrent_info(torrent)
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = os.path.dirname(os.path.abspath(data))
    atp.have_pieces = [True] * ti.num_pieces()
    atp.flags = lt.torrent_flags.default_flags & ~lt.torrent_flags.paused & ~lt.torrent_flags.auto_managed
    handle = ses.add_torrent(atp)
    deadline = time.time() + 60
    while not handle.status().is_seeding:
        if time.time() > deadline:
            sys.exit('libtorrent-utp: not seeding after 60 s')
        time.sleep(0.05)
    print(json.dumps({'port': ses.listen_port(), 'pieces': ti.num_pieces()}), flush=True)
    wait = AlertWait(ses)
    while True:
        wait(0.5)
        for a in ses.pop_alerts():
            if a.category() & lt.alert_category.error:
                sys.stderr.write('libtorrent: %s\n' % a.message())


def leech(torrent, save_dir, peer_list, transport):
    ses, handle = leech_session(torrent, save_dir, peer_list, lt.alert_category.error | lt.alert_category.status,
                                transport_settings(transport))
    if wait_complete(ses, handle, TIMEOUT_S):
        print('done', flush=True)
        return 0
    sys.exit('libtorrent-utp leecher: not complete after %d s' % TIMEOUT_S)


def main():
    pos, opts = parse(sys.argv[1:])
    exit_on_stdin_close()
    if len(pos) == 3 and pos[0] == 'seed':
        return seed(pos[1], pos[2], opts['transport'], int(opts['piece-kib']) * 1024)
    if len(pos) == 4 and pos[0] == 'leech':
        return leech(pos[1], pos[2], pos[3], opts['transport'])
    sys.exit(__doc__)


if __name__ == '__main__':
    sys.exit(main())
