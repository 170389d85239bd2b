"""A local server speaking the Firebase Realtime Database REST protocol.

It is what firebase-admin's ``db`` module talks to when given an emulator URL
(``http://127.0.0.1:PORT/?ns=NAME``) or ``FIREBASE_DATABASE_EMULATOR_HOST``:

- ``GET/PUT/PATCH/POST/DELETE`` on ``/<path>.json`` with ``ns=``; one JSON tree per ns;
- queries: ``orderBy`` (child path, ``"$key"``, ``"$value"``), ``limitToFirst``,
  ``limitToLast``, ``startAt``, ``endAt``, ``equalTo``; ``shallow=true``;
- ``print=silent`` (204); ``X-Firebase-ETag: true`` → ``ETag``; ``if-match`` → 412 with
  the current value and ETag (how the SDK runs transactions);
- ``Accept: text/event-stream``: ``put``/``patch`` events and ``keep-alive`` frames.

``stop()`` drops every connection (as a network cut would); ``start()`` brings it
back on the same port with the same data. ``unavailable = True`` answers every
request with 503 (a Firebase outage behind a reachable front end).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Json = Any
_NO_VALUE = object()


def etag_of(value: Json) -> str:
    return hashlib.md5(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _segments(path: str) -> list[str]:
    return [part for part in path.strip("/").split("/") if part]


def _prune(value: Json) -> Json:
    """Firebase stores no empty objects and no nulls."""
    if isinstance(value, list):
        value = {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        pruned = {k: v for k, v in pruned.items() if v is not None}
        return pruned or None
    return value


def _export(value: Json) -> Json:
    """Objects whose keys are 0..n-1 come back as arrays, as Firebase does."""
    if isinstance(value, dict):
        exported = {k: _export(v) for k, v in value.items()}
        keys = list(exported)
        if keys and all(k.isdigit() for k in keys):
            numbers = sorted(int(k) for k in keys)
            if numbers == list(range(len(numbers))):
                return [exported[str(i)] for i in numbers]
        return exported
    return value


def _type_rank(value: Json) -> int:
    if value is None:
        return 0
    if value is False:
        return 1
    if value is True:
        return 2
    if isinstance(value, int | float):
        return 3
    if isinstance(value, str):
        return 4
    return 5


def _sort_key(value: Json) -> tuple[int, Json]:
    rank = _type_rank(value)
    return (rank, value if rank in (3, 4) else 0)


class Tree:
    """One namespace's JSON tree; every method runs under the server lock."""

    def __init__(self) -> None:
        self.root: Json = None

    def get(self, segments: list[str]) -> Json:
        node = self.root
        for part in segments:
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def set(self, segments: list[str], value: Json) -> None:
        value = _prune(value)
        if not segments:
            self.root = value
            return
        if not isinstance(self.root, dict):
            self.root = {}
        chain: list[dict[str, Json]] = [self.root]
        for part in segments[:-1]:
            child = chain[-1].get(part)
            if not isinstance(child, dict):
                child = {}
                chain[-1][part] = child
            chain.append(child)
        if value is None:
            chain[-1].pop(segments[-1], None)
        else:
            chain[-1][segments[-1]] = value
        for depth in range(len(chain) - 1, 0, -1):  # drop emptied parents
            if not chain[depth]:
                chain[depth - 1].pop(segments[depth - 1], None)
        if not self.root:
            self.root = None


def _query(value: Json, params: dict[str, str]) -> Json:
    if "orderBy" not in params or not isinstance(value, dict):
        return value
    order_by = json.loads(params["orderBy"])

    def ordered_value(key: str) -> Json:
        if order_by == "$key":
            return key
        if order_by == "$value":
            return value[key]
        node = value[key]
        for part in _segments(order_by):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    items = sorted(value, key=lambda k: (_sort_key(ordered_value(k)), k))
    if "equalTo" in params:
        wanted = json.loads(params["equalTo"])
        items = [k for k in items if ordered_value(k) == wanted]
    if "startAt" in params:
        low = _sort_key(json.loads(params["startAt"]))
        items = [k for k in items if _sort_key(ordered_value(k)) >= low]
    if "endAt" in params:
        high = _sort_key(json.loads(params["endAt"]))
        items = [k for k in items if _sort_key(ordered_value(k)) <= high]
    if "limitToFirst" in params:
        items = items[: int(params["limitToFirst"])]
    if "limitToLast" in params:
        limit = int(params["limitToLast"])
        items = items[-limit:] if limit else []
    return {k: value[k] for k in items}


class _Stream:
    def __init__(self, ns: str, segments: list[str]) -> None:
        self.ns = ns
        self.segments = segments
        self.events: queue.Queue[tuple[str, Json] | None] = queue.Queue()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def setup(self) -> None:
        super().setup()
        self.server.rtdb.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.rtdb.untrack(self.connection)

    # -- request parsing ---------------------------------------------------------------
    def _target(self) -> tuple[str, list[str], dict[str, str]]:
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        path = parts.path
        if not path.endswith(".json"):
            raise ValueError("path must end with .json")
        return params.get("ns", "default"), _segments(path[: -len(".json")]), params

    def _body(self) -> Json:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else None

    def _reply(self, status: int, value: Json, headers: dict[str, str] | None = None) -> None:
        body = b"" if status == 204 else json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for key, header in (headers or {}).items():
            self.send_header(key, header)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _handle(self, method: str) -> None:
        rtdb = self.server.rtdb
        try:
            ns, segments, params = self._target()
            body = self._body() if method in ("PUT", "PATCH", "POST") else None
        except ValueError as err:
            self._reply(400, {"error": str(err)})
            return
        rtdb.count(method)
        if rtdb.unavailable:
            self._reply(503, {"error": "Service Unavailable"})
            return
        if method == "GET" and "text/event-stream" in self.headers.get("Accept", ""):
            self._stream(ns, segments)
            return
        status, value, headers = rtdb.apply(
            method, ns, segments, params, body, self.headers.get("if-match")
        )
        if self.headers.get("X-Firebase-ETag", "").lower() == "true" and "ETag" not in headers:
            headers["ETag"] = etag_of(rtdb.read(ns, segments))
        if params.get("print") == "silent" and status == 200:
            status = 204
        self._reply(status, value, headers)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -- event streams -------------------------------------------------------------------
    def _stream(self, ns: str, segments: list[str]) -> None:
        rtdb = self.server.rtdb
        stream = rtdb.open_stream(ns, segments)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            while True:
                try:
                    event = stream.events.get(timeout=rtdb.keepalive_s)
                except queue.Empty:
                    self._frame("keep-alive", None)
                    continue
                if event is None:
                    return
                self._frame(*event)
        except OSError:
            return
        finally:
            rtdb.close_stream(stream)

    def _frame(self, name: str, data: Json) -> None:
        self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    rtdb: FirebaseRtdbServer


class FirebaseRtdbServer:
    """The server; ``url(ns)`` is what goes into ``[store] firebase_url``."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", keepalive_s: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.keepalive_s = keepalive_s
        self._trees: dict[str, Tree] = {}
        self._lock = threading.RLock()
        self._streams: list[_Stream] = []
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._push_counter = 0
        self.requests: dict[str, int] = {}
        self.unavailable = False  # True: every request is answered 503

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> FirebaseRtdbServer:
        server = _Server((self.host, self.port), _Handler)
        server.rtdb = self
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket and cut every open connection (data is kept)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            streams = list(self._streams)
            connections = list(self._connections)
        for stream in streams:
            stream.events.put(None)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FirebaseRtdbServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, ns: str = "tokenmeter-test") -> str:
        return f"http://{self.host}:{self.port}/?ns={ns}"

    # -- bookkeeping ------------------------------------------------------------------------
    def track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    def count(self, method: str) -> None:
        with self._lock:
            self.requests[method] = self.requests.get(method, 0) + 1

    def open_stream(self, ns: str, segments: list[str]) -> _Stream:
        with self._lock:
            stream = _Stream(ns, segments)
            stream.events.put(("put", {"path": "/", "data": _export(self._tree(ns).get(segments))}))
            self._streams.append(stream)
            return stream

    def close_stream(self, stream: _Stream) -> None:
        with self._lock:
            if stream in self._streams:
                self._streams.remove(stream)

    @property
    def stream_count(self) -> int:
        with self._lock:
            return len(self._streams)

    # -- data ----------------------------------------------------------------------------
    def _tree(self, ns: str) -> Tree:
        return self._trees.setdefault(ns, Tree())

    def read(self, ns: str, segments: list[str]) -> Json:
        with self._lock:
            return _export(self._tree(ns).get(segments))

    def write(self, ns: str, path: str, value: Json) -> None:
        """Set a value directly (tests use it to store what the app would not)."""
        with self._lock:
            self._set(ns, _segments(path), value)

    def apply(
        self,
        method: str,
        ns: str,
        segments: list[str],
        params: dict[str, str],
        body: Json,
        if_match: str | None,
    ) -> tuple[int, Json, dict[str, str]]:
        with self._lock:
            tree = self._tree(ns)
            if method == "GET":
                value = _export(tree.get(segments))
                if params.get("shallow") == "true" and isinstance(value, dict):
                    return 200, dict.fromkeys(value, True), {}
                return 200, _query(value, params), {}
            if if_match is not None:
                current = _export(tree.get(segments))
                if etag_of(current) != if_match:
                    return 412, current, {"ETag": etag_of(current)}
            if method == "PUT":
                self._set(ns, segments, body)
                return 200, body, {"ETag": etag_of(_export(tree.get(segments)))}
            if method == "DELETE":
                self._set(ns, segments, None)
                return 200, None, {}
            if method == "POST":
                self._push_counter += 1
                key = f"-{time.time_ns():020d}{self._push_counter:06d}"
                self._set(ns, [*segments, key], body)
                return 200, {"name": key}, {}
            if method == "PATCH":
                if not isinstance(body, dict):
                    return 400, {"error": "PATCH needs an object"}, {}
                self._patch(ns, segments, body)
                return 200, body, {}
            return 405, {"error": "method not allowed"}, {}

    def _set(self, ns: str, segments: list[str], value: Json) -> None:
        self._tree(ns).set(segments, value)
        self._notify(ns, segments, {"": value}, "put")

    def _patch(self, ns: str, segments: list[str], changes: dict[str, Json]) -> None:
        tree = self._tree(ns)
        for key, value in changes.items():
            tree.set([*segments, *_segments(key)], value)
        self._notify(ns, segments, changes, "patch")

    def _notify(self, ns: str, at: list[str], changes: dict[str, Json], kind: str) -> None:
        tree = self._tree(ns)
        for stream in self._streams:
            if stream.ns != ns:
                continue
            watched = stream.segments
            if at[: len(watched)] == watched:  # the change is at or under the watched path
                relative = "/" + "/".join(at[len(watched) :])
                if kind == "put":
                    stream.events.put(("put", {"path": relative, "data": changes[""]}))
                else:
                    stream.events.put(("patch", {"path": relative, "data": changes}))
            elif watched[: len(at)] == at:  # a change above the watched path
                below = watched[len(at) :]
                touched = kind == "put" or any(
                    _segments(k)[: len(below)] == below[: len(_segments(k))] for k in changes
                )
                if touched:
                    value = _export(tree.get(watched))
                    stream.events.put(("put", {"path": "/", "data": value}))
