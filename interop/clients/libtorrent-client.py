#!/usr/bin/python3
"""One libtorrent 2.0 session seeding or leeching one torrent on loopback, for the interop suite.

Run with Debian's /usr/bin/python3 (python3-libtorrent), not a pyenv python:

  /usr/bin/python3 interop/clients/libtorrent-client.py seed  TORRENT DATA_DIR HOST PORT
  /usr/bin/python3 interop/clients/libtorrent-client.py leech TORRENT SAVE_DIR HOST PORT [PEER_HOST:PORT ...]

Prints JSON lines on stdout:
  {"event": "listen", "host": H, "port": P}   seeding (every piece checked) or leeching, listening
  {"event": "progress", "done": BYTES, "total": BYTES, "peers": N}   about once a second
  {"event": "finished"}                        the leech has every piece, flushed to disk
Errors and peer events go to stderr (the driver's log). Exits when its stdin closes or on SIGTERM;
a leech also exits 0 after "finished".
"""
import json
import os
import signal
import sys
import threading
import time

import libtorrent as lt

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'bench'))
from libtorrent_loopback import AlertWait, loopback_settings  # noqa: E402

# A seed checks its data before it serves: 8 MiB takes well under this.
CHECK_TIMEOUT_S = 60
PROGRESS_EVERY_S = 1.0
# Peer events worth a line in the log when a cell fails (connects, disconnects and their reason).
LOG_ALERTS = (lt.peer_connect_alert, lt.peer_disconnected_alert, lt.peer_error_alert, lt.peer_ban_alert,
              lt.incoming_connection_alert, lt.torrent_error_alert, lt.file_error_alert, lt.hash_failed_alert,
              lt.listen_failed_alert, lt.listen_succeeded_alert)


def emit(obj):
    print(json.dumps(obj), flush=True)


def log(msg):
    sys.stderr.write('libtorrent: %s\n' % msg)
    sys.stderr.flush()


def session_settings(host, port):
    mask = lt.alert_category.error | lt.alert_category.status | lt.alert_category.connect | lt.alert_category.peer
    if os.environ.get('INTEROP_PEER_LOG'):
        # Every message in and out (when this libtorrent build has logging): the sequence of a failure.
        mask |= lt.alert_category.peer_log
    return {
        **loopback_settings(mask),
        'listen_interfaces': '%s:%d' % (host, port),
        # Plaintext out, either way in: bt-stream does not speak MSE/PE (BEP 8 is not ours).
        'out_enc_policy': lt.enc_policy.disabled,
        'in_enc_policy': lt.enc_policy.enabled,
        'allowed_enc_level': lt.enc_level.both,
        # Loopback peers are "local": no limits either way, and no rate limit at all.
        'upload_rate_limit': 0,
        'download_rate_limit': 0,
        'ssrf_mitigation': False,
        'unchoke_slots_limit': -1,
        # The peer id we see is ours; without this libtorrent refuses a second connection from 127.0.0.1.
        'allow_multiple_connections_per_ip': True,
    }


def main():
    if len(sys.argv) < 6 or sys.argv[1] not in ('seed', 'leech'):
        sys.exit(__doc__)
    mode, torrent, directory, host, port = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    peers = []
    for p in sys.argv[6:]:
        h, pt = p.rsplit(':', 1)
        peers.append((h, int(pt)))

    ses = lt.session(session_settings(host, port))
    wait = AlertWait(ses)
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(torrent)
    atp.save_path = directory
    atp.flags = lt.torrent_flags.default_flags & ~lt.torrent_flags.paused & ~lt.torrent_flags.auto_managed
    handle = ses.add_torrent(atp)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # The driver closes our stdin (or dies): then we end too.
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()

    if mode == 'seed':
        deadline = time.time() + CHECK_TIMEOUT_S
        while not stop.is_set():
            st = handle.status()
            if st.is_seeding:
                break
            if st.errc.value() != 0:
                sys.exit('libtorrent: %s' % st.errc.message())
            if time.time() > deadline:
                sys.exit('libtorrent: not seeding after %d s (state %s, %.0f%% checked)' % (CHECK_TIMEOUT_S, st.state, st.progress * 100))
            pump(ses, wait)
            time.sleep(0.05)
    emit({'event': 'listen', 'host': host, 'port': ses.listen_port()})

    for peer in peers:
        handle.connect_peer(peer)

    last = 0.0
    finished = False
    while not stop.is_set():
        for a in pump(ses, wait):
            if isinstance(a, lt.torrent_finished_alert) and mode == 'leech' and not finished:
                finished = True
        if finished:
            # The finished alert comes when every piece passed its hash; flush so the files
            # on disk hold it all before the harness reads them.
            handle.flush_cache()
            time.sleep(0.2)
            emit({'event': 'finished'})
            return 0
        now = time.time()
        if now - last >= PROGRESS_EVERY_S:
            last = now
            st = handle.status()
            emit({'event': 'progress', 'done': st.total_done, 'total': st.total_wanted, 'peers': st.num_peers})
            if mode == 'leech' and peers and st.num_peers == 0:
                # Not connected (refused, or closed on us): dial again, as a tracker re-announce would.
                for peer in peers:
                    handle.connect_peer(peer)
    return 0


def pump(ses, wait):
    wait(0.1)
    alerts = ses.pop_alerts()
    for a in alerts:
        if isinstance(a, LOG_ALERTS) or (a.category() & lt.alert_category.error) or isinstance(a, lt.peer_log_alert):
            log(a.message())
    return alerts


if __name__ == '__main__':
    sys.exit(main())
