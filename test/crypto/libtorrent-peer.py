#!/usr/bin/python3
"""A libtorrent 2.0 peer that requires encryption (pe_forced both ways, RC4 only), for the MSE
interop tests. Run with Debian's /usr/bin/python3 (python3-libtorrent).

  libtorrent-peer.py seed DATA_FILE TORRENT [forced|plain [PIECE_KIB]]
                                              -> makes TORRENT from DATA_FILE, seeds it; prints
                                                 {"port": N}; "peers" on stdin prints
                                                 {"peers": [{"rc4": bool, "client": str}, ...]}
  libtorrent-peer.py leech TORRENT SAVE_DIR HOST:PORT
                                              -> downloads from that peer; prints
                                                 {"done": true, "rc4": bool} and exits 0
Either exits when its stdin closes.
"""
import json
import os
import sys
import threading
import time

import libtorrent as lt

# The benchmark's libtorrent helpers: AlertWait, a wait for alerts that cannot crash the binding.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'bench'))
from libtorrent_loopback import AlertWait  # noqa: E402


def settings(policy='forced'):
    enc = {
        # What "require encryption" is in qBittorrent/Deluge: MSE both ways, RC4 only.
        'forced': {'out_enc_policy': int(lt.enc_policy.forced), 'in_enc_policy': int(lt.enc_policy.forced), 'allowed_enc_level': int(lt.enc_level.rc4)},
        # For the benchmark's comparison: a plaintext-only peer.
        'plain': {'out_enc_policy': int(lt.enc_policy.disabled), 'in_enc_policy': int(lt.enc_policy.disabled)},
    }[policy]
    return {
        **enc,
        'listen_interfaces': '127.0.0.1:0',
        'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
        'enable_incoming_utp': False, 'enable_outgoing_utp': False,
        'allow_multiple_connections_per_ip': True,
        # storage: the cache_flushed_alert the leecher waits for before it says done.
        'alert_mask': lt.alert_category.error | lt.alert_category.status | lt.alert_category.storage,
        'send_buffer_watermark': 16 * 1024 * 1024,
        'send_buffer_low_watermark': 4 * 1024 * 1024,
        'unchoke_slots_limit': -1,
        'max_allowed_in_request_queue': 4000,
    }


def peers_of(handle):
    out = []
    for p in handle.get_peer_info():
        out.append({'rc4': bool(p.flags & lt.peer_info.rc4_encrypted), 'plain_mse': bool(p.flags & lt.peer_info.plaintext_encrypted), 'client': p.client})
    return out


def exit_on_stdin_close(on_line=None):
    def run():
        for line in sys.stdin:
            if on_line:
                on_line(line.strip())
        os._exit(0)
    threading.Thread(target=run, daemon=True).start()


def seed(data, torrent, policy='forced', piece_kib=64):
    fs = lt.file_storage()
    lt.add_files(fs, data)
    ct = lt.create_torrent(fs, int(piece_kib) * 1024, lt.create_torrent.v1_only)
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(data)))
    with open(torrent, 'wb') as f:
        f.write(lt.bencode(ct.generate()))
    ses = lt.session(settings(policy))
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(torrent)
    atp.save_path = os.path.dirname(os.path.abspath(data))
    atp.flags = lt.torrent_flags.default_flags & ~lt.torrent_flags.paused & ~lt.torrent_flags.auto_managed
    handle = ses.add_torrent(atp)
    deadline = time.time() + 30
    while not handle.status().is_seeding:
        if time.time() > deadline:
            sys.exit('libtorrent: not seeding after 30 s')
        time.sleep(0.05)
    exit_on_stdin_close(lambda line: print(json.dumps({'peers': peers_of(handle)}), flush=True) if line == 'peers' else None)
    print(json.dumps({'port': ses.listen_port()}), flush=True)
    wait = AlertWait(ses)
    while True:
        wait(0.5)
        for a in ses.pop_alerts():
            if a.category() & lt.alert_category.error:
                sys.stderr.write('libtorrent: %s\n' % a.message())


def leech(torrent, save_dir, peer):
    host, port = peer.rsplit(':', 1)
    ses = lt.session(settings())
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(torrent)
    atp.save_path = save_dir
    atp.flags = lt.torrent_flags.default_flags & ~lt.torrent_flags.paused & ~lt.torrent_flags.auto_managed
    handle = ses.add_torrent(atp)
    wait = AlertWait(ses)
    handle.connect_peer((host, int(port)))
    exit_on_stdin_close()
    rc4 = False
    finished = False
    deadline = time.time() + 120
    while time.time() < deadline:
        wait(0.1)
        rc4 = rc4 or any(p['rc4'] for p in peers_of(handle))
        for a in ses.pop_alerts():
            # Finished can come while pieces sit in libtorrent's write buffers: done once they
            # are in the file, which the test reads next.
            if isinstance(a, lt.torrent_finished_alert) and not finished:
                finished = True
                handle.flush_cache()
            elif isinstance(a, lt.cache_flushed_alert) and finished:
                print(json.dumps({'done': True, 'rc4': rc4}), flush=True)
                return 0
            if a.category() & lt.alert_category.error:
                sys.stderr.write('libtorrent: %s\n' % a.message())
    sys.exit('libtorrent leecher: not complete after 120 s')


if __name__ == '__main__':
    if 4 <= len(sys.argv) <= 6 and sys.argv[1] == 'seed':
        seed(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == 'leech':
        sys.exit(leech(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit(__doc__)
