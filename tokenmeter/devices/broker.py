"""A local mosquitto broker on a free port, for the embedded defaults and the tests.

The broker is supervised: a thread owns the mosquitto process, waits on it and starts
it again on the same port when it exits unasked (clients reconnect on their own).
It never outlives the process that started it: on Linux it is started with a
parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGTERM)``), so even a SIGKILL of the
service ends it. That signal is tied to the thread that forked the broker, which is
why the supervising thread, living exactly as long as the broker, does every start.
The kernel clears the signal when a process changes its user, so when run as root
the broker is started directly as the user mosquitto itself would drop to.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tokenmeter.errors import BrokerUnavailable

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "mosquitto is not installed. Install it with 'sudo apt-get install mosquitto' "
    "(or run 'make setup'), or set [mqtt] url to an existing broker."
)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
DROP_USERS = ("mosquitto", "nobody")  # whom mosquitto itself drops to when run as root
RESTART_DELAYS_S = (0.2, 1.0, 2.0, 5.0, 10.0, 30.0)  # by the number of quick exits in a row
STEADY_S = 30.0  # a broker that ran this long resets the delays
STOP_WAIT_S = 5.0


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary (Debian puts it in /usr/sbin)."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for candidate in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if Path(candidate).exists():
            return candidate
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGTERM when its parent thread ends
    (Linux); None elsewhere. libc is resolved here, before the fork."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent was gone before the signal was armed
            os._exit(1)

    return arm


def drop_user() -> pwd.struct_passwd | None:
    """Under root, the account to run mosquitto as; None when not root (or none exists)."""
    if os.geteuid() != 0:
        return None
    for name in DROP_USERS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    return None


class LocalBroker:
    """mosquitto bound to 127.0.0.1 on a free (or given) port, restarted when it dies;
    ``stop()`` then ``start()`` restarts it on the same port (tests use this to cut
    the broker, and a stopped broker stays stopped)."""

    def __init__(
        self, port: int = 0, host: str = "127.0.0.1", tls: tuple[Path, Path] | None = None
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.tls = tls  # (certificate, key), files the unprivileged broker can read
        self.restarts = 0  # times it was started again after dying
        self._dir = tempfile.TemporaryDirectory(prefix="tokenmeter-mosquitto-")
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._supervisor: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        with self._lock:
            proc = self._proc
        return proc is not None and proc.poll() is None

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._proc.pid if self._proc is not None else None

    def health(self) -> dict[str, object]:
        return {"ok": self.running, "running": self.running, "restarts": self.restarts}

    def start(self, timeout: float = 10.0) -> LocalBroker:
        """Start mosquitto and its supervisor; returns once it listens."""
        if self._supervisor is not None and self._supervisor.is_alive():
            return self
        binary = find_mosquitto()
        if binary is None:
            raise BrokerUnavailable(INSTALL_HINT)
        conf = self._write_conf()
        self._stopping.clear()
        first: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._supervisor = threading.Thread(
            target=self._supervise,
            args=(binary, conf, timeout, first),
            name=f"mosquitto-{self.port}",
            daemon=True,
        )
        self._supervisor.start()
        try:
            first.result(timeout + STOP_WAIT_S)
        except TimeoutError:
            self.stop()
            raise BrokerUnavailable(f"mosquitto did not start on {self.url}") from None
        log.debug("local broker up on %s", self.url)
        return self

    def _write_conf(self) -> Path:
        folder = Path(self._dir.name)
        conf = folder / "mosquitto.conf"
        tls = f"certfile {self.tls[0]}\nkeyfile {self.tls[1]}\n" if self.tls else ""
        conf.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "max_queued_messages 10000\n"
            "log_dest none\n" + tls,
            encoding="utf-8",
        )
        folder.chmod(0o711)  # the unprivileged broker reads its config (no secrets in it)
        conf.chmod(0o644)
        return conf

    def _spawn(self, binary: str, conf: Path) -> subprocess.Popen[bytes] | None:
        """(supervisor thread) Start mosquitto; None when a stop came first."""
        user = drop_user()
        with self._lock:
            if self._stopping.is_set():
                return None
            self._proc = subprocess.Popen(
                [binary, "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                # Ctrl-C in a terminal (or `timeout`) signals the whole process group; the
                # service stops the broker itself, after the clients that use it
                start_new_session=True,
                preexec_fn=die_with_parent(),
                user=user.pw_uid if user else None,
                group=user.pw_gid if user else None,
                extra_groups=[] if user else None,
            )
            return self._proc

    def _wait_listening(self, proc: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise BrokerUnavailable(f"mosquitto exited at start: {err.strip()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise BrokerUnavailable(f"mosquitto did not listen on {self.url} within {timeout:.0f} s")

    def _supervise(
        self, binary: str, conf: Path, timeout: float, first: concurrent.futures.Future[None]
    ) -> None:
        """(thread) Start mosquitto, wait on it, start it again until ``stop``."""
        try:
            self._keep_running(binary, conf, timeout, first)
        except Exception as err:  # a bug here must not leave start() waiting
            log.exception("local broker supervisor failed")
            if not first.done():
                first.set_exception(BrokerUnavailable(f"broker supervisor failed: {err}"))
        finally:
            if not first.done():
                first.set_exception(BrokerUnavailable("the broker was stopped while starting"))

    def _keep_running(
        self, binary: str, conf: Path, timeout: float, first: concurrent.futures.Future[None]
    ) -> None:
        quick_exits = 0
        while not self._stopping.is_set():
            began = time.monotonic()
            try:
                proc = self._spawn(binary, conf)
                if proc is None:
                    return
                self._wait_listening(proc, timeout)
            except (BrokerUnavailable, OSError) as err:
                self._end(self._take_proc())
                if self._stopping.is_set():
                    return
                if not first.done():
                    first.set_exception(
                        err if isinstance(err, BrokerUnavailable) else BrokerUnavailable(str(err))
                    )
                    return
                log.warning("local broker could not be restarted on %s: %s", self.url, err)
            else:
                if not first.done():
                    first.set_result(None)
                else:
                    self.restarts += 1
                    log.warning("local broker restarted on %s", self.url)
                code = proc.wait()
                if self._stopping.is_set():
                    return
                log.warning("local broker on %s exited (code %s); restarting", self.url, code)
            steady = time.monotonic() - began > STEADY_S
            quick_exits = 0 if steady else min(quick_exits + 1, len(RESTART_DELAYS_S) - 1)
            self._stopping.wait(RESTART_DELAYS_S[quick_exits])

    def _take_proc(self) -> subprocess.Popen[bytes] | None:
        with self._lock:
            proc, self._proc = self._proc, None
            return proc

    @staticmethod
    def _end(proc: subprocess.Popen[bytes] | None) -> None:
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_WAIT_S)
        if proc.stderr:
            proc.stderr.close()

    def stop(self) -> None:
        """Stop mosquitto and its supervisor (not restarted)."""
        with self._lock:
            self._stopping.set()
            proc, self._proc = self._proc, None
        self._end(proc)
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None and supervisor is not threading.current_thread():
            supervisor.join(timeout=STOP_WAIT_S)

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
