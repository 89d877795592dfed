"""Session settings both benchmark libtorrent scripts share: a loopback-only session, no
discovery, TCP only, and several connections per IP (every peer here is 127.0.0.1)."""

import os
import select

import libtorrent as lt

SOCKET_BUFFER = 4 * 1024 * 1024


def encryption_settings():
    """BENCH_ENCRYPTION=forced: every libtorrent session of the benchmark requires MSE/PE with RC4
    both ways (qBittorrent's "require encryption"), for the encryption-only swarm of issue 12."""
    if os.environ.get('BENCH_ENCRYPTION') != 'forced':
        return {}
    return {
        'out_enc_policy': int(lt.enc_policy.forced),
        'in_enc_policy': int(lt.enc_policy.forced),
        'allowed_enc_level': int(lt.enc_level.rc4),
    }


def loopback_settings(alert_mask):
    return {
        'listen_interfaces': '127.0.0.1:0',
        'enable_dht': False,
        'enable_lsd': False,
        'enable_upnp': False,
        'enable_natpmp': False,
        'enable_incoming_utp': False,
        'enable_outgoing_utp': False,
        'alert_mask': alert_mask,
        # Without this libtorrent keeps one connection per IP.
        'allow_multiple_connections_per_ip': True,
        'send_socket_buffer_size': SOCKET_BUFFER,
        'recv_socket_buffer_size': SOCKET_BUFFER,
        'download_rate_limit': 0,
        **encryption_settings(),
    }


def leech_session(torrent, save_dir, peer_list, alert_mask, extra_settings=None):
    """A leeching session: the torrent added unpaused to SAVE_DIR and every peer of
    "HOST:PORT[,HOST:PORT...]" dialed. Returns (session, handle)."""
    ses = lt.session({
        # storage: the cache_flushed_alert that wait_complete waits for.
        **loopback_settings(alert_mask | lt.alert_category.storage),
        **(extra_settings or {}),
        'max_out_request_queue': 1500,
    })
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(torrent)
    atp.save_path = save_dir
    atp.flags = lt.torrent_flags.default_flags & ~lt.torrent_flags.paused & ~lt.torrent_flags.auto_managed
    handle = ses.add_torrent(atp)
    for p in peer_list.split(','):
        host, port = p.rsplit(':', 1)
        handle.connect_peer((host, int(port)))
    return ses, handle


def start_leecher(usage, alert_mask):
    """leech_session from argv (TORRENT SAVE_DIR HOST:PORT[,HOST:PORT...]), or exit with usage."""
    import sys
    if len(sys.argv) != 4:
        sys.exit(usage)
    torrent, save_dir, peer_list = sys.argv[1:]
    return leech_session(torrent, save_dir, peer_list, alert_mask)


class AlertWait:
    """Waits until the session has alerts, without session.wait_for_alert: that returns a pointer
    to the first queued alert after letting go of the queue's lock, and the binding casts it to
    its Python type; when libtorrent's thread grows the queue in between, the pointer is stale and
    the process dies in __dynamic_cast (SIGSEGV; seen about once in 60 leecher runs, a core dump's
    backtrace: wait_for_alert's caller -> __dynamic_cast). Here libtorrent writes a byte to a pipe
    when its queue stops being empty (session.set_alert_fd) and the waiter selects on that pipe;
    no alert pointer crosses threads. Alerts stay valid until the next pop_alerts, as before.

    One per session (set_alert_fd replaces the previous one); always pop_alerts after a wait, or
    no new byte comes (libtorrent writes only when the queue goes from empty to non-empty)."""

    def __init__(self, ses):
        self._read, write = os.pipe()
        # libtorrent's network thread writes: never block it on a full pipe.
        os.set_blocking(write, False)
        os.set_blocking(self._read, False)
        ses.set_alert_fd(write)
        self._write = write

    def __call__(self, timeout_s):
        """Returns once alerts are queued or after `timeout_s` seconds."""
        select.select([self._read], [], [], timeout_s)
        try:
            os.read(self._read, 4096)
        except BlockingIOError:
            pass


def alerts(ses, timeout_s):
    """The session's alerts as they come, for at most `timeout_s` seconds; error alerts are also
    written to stderr. Ends at the deadline (the caller says what did not happen)."""
    import sys
    import time
    wait = AlertWait(ses)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        wait(0.1)
        for a in ses.pop_alerts():
            if a.category() & lt.alert_category.error:
                sys.stderr.write('libtorrent: %s\n' % a.message())
            yield a


def make_torrent(data, path, piece_length, flags, creator):
    """A .torrent of the file `data` at `path`, written whole or not at all (via a temp file)."""
    fs = lt.file_storage()
    lt.add_files(fs, data)
    ct = lt.create_torrent(fs, piece_length, flags=flags)
    ct.set_creator(creator)
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(data)))
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(lt.bencode(ct.generate()))
    os.replace(tmp, path)


def wait_complete(ses, handle, timeout_s, on_first_piece=None):
    """True once the torrent is complete AND its bytes are in its files: libtorrent says finished
    when every piece verified, possibly from its write buffers, so whoever reads the file right
    after could see a piece missing; a flush_cache after it and its cache_flushed_alert close
    that gap. False at the deadline."""
    first = False
    finished = False
    for a in alerts(ses, timeout_s):
        if isinstance(a, lt.piece_finished_alert) and not first:
            first = True
            if on_first_piece:
                on_first_piece()
        elif isinstance(a, lt.torrent_finished_alert) and not finished:
            finished = True
            handle.flush_cache()
        elif isinstance(a, lt.cache_flushed_alert) and finished:
            return True
    return False
