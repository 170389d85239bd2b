"""A local server that speaks the Telegram Bot API wire format, for the bot tests.

``/bot<token>/<method>`` answers getMe, getUpdates (long polling with ``offset`` and
``timeout``), sendMessage, sendPhoto (multipart), sendMediaGroup, sendDocument, editMessageText,
editMessageCaption, editMessageMedia (a photo), editMessageReplyMarkup,
answerCallbackQuery, sendChatAction,
setMyCommands, getMyCommands, deleteMessage and deleteWebhook. Tests enqueue
updates (``send_text``, ``press``), can make a method answer 429 with
``retry_after``, can start an outage (``hang``: requests are held unanswered, then
dropped; ``fail``: every request gets an HTTP error, as from a proxy in front of a
Telegram that is down) and end it (``recover``), and assert on every recorded call.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT_ID = 777000
DROPPED = 0
"""``FakeBotApi.outage``: the request was held through a hang and gets no answer."""
BOT_USERNAME = "tokenmeter_test_bot"
JSONDict = dict[str, Any]


@dataclass(frozen=True)
class ApiCall:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    ok: bool = True  # False when the server answered with an error (429, 400)
    result: Any = None  # what the server answered
    at: float = field(default_factory=time.monotonic)  # when it was answered

    @property
    def message_id(self) -> int:
        """The id of the message this call created or edited."""
        assert isinstance(self.result, dict), f"{self.method} returned no message"
        return int(self.result["message_id"])

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, like the real Bot API

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        api = self.server.api
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if len(parts) != 2 or parts[0] != f"bot{api.token}":
            self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        outage = api.outage(parts[1])
        if outage == DROPPED:
            self.close_connection = True  # held through a hang: no answer at all
            return
        if outage is not None:
            description = HTTPStatus(outage).phrase
            self._reply(outage, {"ok": False, "error_code": outage, "description": description})
            return
        params, files = _parse_body(self.headers.get("Content-Type", ""), body)
        try:
            status, payload = api.handle(parts[1], params, files)
        except _Dropped:
            self.close_connection = True
            return
        self._reply(status, payload)

    def _reply(self, status: int, payload: JSONDict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many chats at once: the default backlog of 5 drops connections
    api: FakeBotApi

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a long poll cancelled at shutdown) is not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            raw = part.get_payload(decode=True)
            payload = raw if isinstance(raw, bytes) else b""
            if part.get_filename() is not None:
                files[str(name)] = payload
            else:
                params[str(name)] = payload.decode()
    elif content_type.startswith("application/json") and body:
        params = json.loads(body)
    elif body:
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    for key, value in list(params.items()):
        if isinstance(value, str) and value[:1] in "[{":
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params, files


class FakeBotApi:
    """The fake server; use as a context manager or call ``start()`` / ``stop()``."""

    def __init__(self, token: str = "123456:TEST-token") -> None:
        self.token = token
        self.calls: list[ApiCall] = []
        self.commands: list[JSONDict] = []
        self.deletable = True
        self._updates: list[JSONDict] = []
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._rate_limits: dict[str, list[int]] = {}
        self._hang: frozenset[str] | None = None  # methods held (empty: all); None: no hang
        self._fail: tuple[int, frozenset[str]] | None = None  # (HTTP status, methods)
        self._stopped = False
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._files = itertools.count(1)
        self._cond = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What goes into ``telegram.api_base_url``."""
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> FakeBotApi:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests do ----------------------------------------------------------
    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 and ``retry_after``."""
        with self._cond:
            self._rate_limits.setdefault(method, []).extend([retry_after] * times)

    def hang(self, *methods: str) -> None:
        """Hold every request for ``methods`` (all methods when none are named) without
        an answer until ``recover``; held requests are then closed unanswered."""
        with self._cond:
            self._hang = frozenset(methods)
            self._cond.notify_all()  # a long poll waiting now is held from here on

    def fail(self, status: int = 502, *methods: str) -> None:
        """Answer every request for ``methods`` (all when none are named) with ``status``
        until ``recover``. A long poll waiting now ends at once."""
        with self._cond:
            self._fail = (status, frozenset(methods))
            self._cond.notify_all()

    def recover(self) -> None:
        """End a ``hang`` or ``fail``: requests are answered again."""
        with self._cond:
            self._hang = None
            self._fail = None
            self._cond.notify_all()

    def outage(self, method: str) -> int | None:
        """(server thread) None to answer ``method`` normally, an HTTP status to fail
        it with, or ``DROPPED`` after holding it through a hang."""
        with self._cond:
            if self._fail is not None and _names(self._fail[1], method):
                if method != "getUpdates":
                    self._record(ApiCall(method, {}, ok=False))
                return self._fail[0]
            if self._hang is None or not _names(self._hang, method):
                return None
            if method != "getUpdates":
                self._record(ApiCall(method, {}, ok=False))
            while self._hang is not None and _names(self._hang, method) and not self._stopped:
                self._cond.wait(0.5)
            return DROPPED

    def send_text(self, chat_id: int, text: str, user_id: int | None = None) -> int:
        """Enqueue a user's text message (commands get their entity); return its id."""
        return self.send_many([(chat_id, text)], user_id)[0]

    def send_many(self, messages: list[tuple[int, str]], user_id: int | None = None) -> list[int]:
        """Enqueue several ``(chat_id, text)`` messages at once (one getUpdates batch)."""
        with self._cond:
            return [self._message_update(chat, text, user_id) for chat, text in messages]

    def _message_update(self, chat_id: int, text: str, user_id: int | None) -> int:
        message_id = next(self._ids)
        message: JSONDict = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": _user(user_id or abs(chat_id)),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        with self._cond:
            self._messages[(chat_id, message_id)] = message
            self._enqueue({"message": message})
        return message_id

    def press(self, chat_id: int, message_id: int, data: str, user_id: int | None = None) -> str:
        """Enqueue a press of an inline button under a bot message; return the query id."""
        with self._cond:
            message = self._messages[(chat_id, message_id)]
        query_id = f"q{next(self._ids)}"
        self._enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": _user(user_id or abs(chat_id)),
                    "chat_instance": f"ci{chat_id}",
                    "message": message,
                    "data": data,
                }
            }
        )
        return query_id

    def message(self, chat_id: int, message_id: int) -> JSONDict:
        """The current state of a message (edits applied)."""
        with self._cond:
            return dict(self._messages[(chat_id, message_id)])

    def calls_of(self, method: str, chat_id: int | None = None) -> list[ApiCall]:
        with self._cond:
            return [
                c
                for c in self.calls
                if c.method == method and (chat_id is None or c.chat_id == chat_id)
            ]

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate()`` holds (re-checked on every call) or ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.2))
        return True

    async def until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """``wait_until`` for async tests (the loop keeps running)."""
        return await asyncio.to_thread(self.wait_until, predicate, timeout)

    # -- the API ----------------------------------------------------------------
    def _enqueue(self, update: JSONDict) -> None:
        with self._cond:
            update["update_id"] = next(self._update_ids)
            self._updates.append(update)
            self._cond.notify_all()

    def handle(
        self, method: str, params: dict[str, Any], files: dict[str, bytes]
    ) -> tuple[int, JSONDict]:
        if method != "getUpdates":
            with self._cond:
                retry = self._rate_limits.get(method)
                if retry:
                    retry_after = retry.pop(0)
                    self._record(ApiCall(method, params, files, ok=False))
                    return 429, {
                        "ok": False,
                        "error_code": 429,
                        "description": f"Too Many Requests: retry after {retry_after}",
                        "parameters": {"retry_after": retry_after},
                    }
        handler = getattr(self, "_m_" + method, None)
        if handler is None:
            self._record(ApiCall(method, params, files, ok=False))
            return 404, {"ok": False, "error_code": 404, "description": "Not Found: method"}
        try:
            result = handler(params, files)
        except _ApiError as err:
            self._record(ApiCall(method, params, files, ok=False))
            return 400, {"ok": False, "error_code": 400, "description": str(err)}
        if method != "getUpdates":
            self._record(ApiCall(method, params, files, result=result))
        return 200, {"ok": True, "result": result}

    def _record(self, call: ApiCall) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def _m_getMe(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Tokenmeter",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _m_deleteWebhook(self, params: JSONDict, files: dict[str, bytes]) -> bool:
        return True

    def _m_getUpdates(self, params: JSONDict, files: dict[str, bytes]) -> list[JSONDict]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        with self._cond:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                if self._fail is not None and _names(self._fail[1], "getUpdates"):
                    break  # the next poll gets the error
                if self._hang is not None and _names(self._hang, "getUpdates"):
                    while self._hang is not None and not self._stopped:
                        self._cond.wait(0.5)  # a poll that was waiting is held too
                    raise _Dropped
                self._cond.wait(min(deadline - time.monotonic(), 0.5))
            return list(self._updates[:100])

    def _m_setMyCommands(self, params: JSONDict, files: dict[str, bytes]) -> bool:
        self.commands = list(params.get("commands") or [])
        return True

    def _m_getMyCommands(self, params: JSONDict, files: dict[str, bytes]) -> list[JSONDict]:
        return self.commands

    def _m_sendChatAction(self, params: JSONDict, files: dict[str, bytes]) -> bool:
        return True

    def _m_answerCallbackQuery(self, params: JSONDict, files: dict[str, bytes]) -> bool:
        return True

    def _m_sendMessage(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        return self._new_message(params, {"text": str(params.get("text", ""))})

    def _m_sendPhoto(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        if "photo" in files:
            file_id = f"photo-{next(self._files)}"
        elif isinstance(params.get("photo"), str) and params["photo"]:
            file_id = str(params["photo"])
        else:
            raise _ApiError("Bad Request: there is no photo in the request")
        photo = [{"file_id": file_id, "file_unique_id": file_id, "width": 640, "height": 480}]
        fields: JSONDict = {"photo": photo}
        if params.get("caption"):
            fields["caption"] = str(params["caption"])
        return self._new_message(params, fields)

    def _m_sendDocument(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        if "document" not in files:
            raise _ApiError("Bad Request: there is no document in the request")
        file_id = f"document-{next(self._files)}"
        fields: JSONDict = {"document": {"file_id": file_id, "file_unique_id": file_id}}
        if params.get("caption"):
            fields["caption"] = str(params["caption"])
        return self._new_message(params, fields)

    def _m_sendMediaGroup(self, params: JSONDict, files: dict[str, bytes]) -> list[JSONDict]:
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _ApiError("Bad Request: wrong number of media in the group")
        sent = []
        for item in media:
            ref = str(item.get("media", ""))
            if ref.startswith("attach://"):
                if ref[len("attach://") :] not in files:
                    raise _ApiError("Bad Request: attached file not found")
                file_id = f"photo-{next(self._files)}"
            elif ref:
                file_id = ref
            else:
                raise _ApiError("Bad Request: there is no photo in the request")
            photo = [{"file_id": file_id, "file_unique_id": file_id, "width": 640, "height": 480}]
            fields: JSONDict = {"photo": photo, "media_group_id": "album"}
            if item.get("caption"):
                fields["caption"] = str(item["caption"])
            sent.append(self._new_message(params, fields))
        return sent

    def _m_editMessageText(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        return self._edit(params, {"text": str(params.get("text", ""))})

    def _m_editMessageCaption(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        return self._edit(params, {"caption": str(params.get("caption", ""))})

    def _m_editMessageMedia(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        media = params.get("media")
        if not isinstance(media, dict) or media.get("type") != "photo":
            raise _ApiError("Bad Request: media must be a photo here")
        ref = str(media.get("media", ""))
        if ref.startswith("attach://") and ref[len("attach://") :] in files:
            file_id = f"photo-{next(self._files)}"
        elif ref and not ref.startswith("attach://"):
            file_id = ref
        else:
            raise _ApiError("Bad Request: there is no photo in the request")
        photo = [{"file_id": file_id, "file_unique_id": file_id, "width": 640, "height": 480}]
        return self._edit(params, {"photo": photo, "caption": str(media.get("caption", ""))})

    def _m_editMessageReplyMarkup(self, params: JSONDict, files: dict[str, bytes]) -> JSONDict:
        return self._edit(params, {})

    def _m_deleteMessage(self, params: JSONDict, files: dict[str, bytes]) -> bool:
        if not self.deletable:
            raise _ApiError("Bad Request: message can't be deleted")
        key = (int(params["chat_id"]), int(params["message_id"]))
        with self._cond:
            if self._messages.pop(key, None) is None:
                raise _ApiError("Bad Request: message to delete not found")
        return True

    def _new_message(self, params: JSONDict, fields: JSONDict) -> JSONDict:
        chat_id = int(params["chat_id"])
        message: JSONDict = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Tokenmeter"},
            **fields,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        with self._cond:
            self._messages[(chat_id, message["message_id"])] = message
        return message

    def _edit(self, params: JSONDict, fields: JSONDict) -> JSONDict:
        key = (int(params["chat_id"]), int(params["message_id"]))
        with self._cond:
            message = self._messages.get(key)
            if message is None:
                raise _ApiError("Bad Request: message to edit not found")
            changed = {**message, **fields}
            if params.get("reply_markup"):
                changed["reply_markup"] = params["reply_markup"]
            else:
                changed.pop("reply_markup", None)
            if changed == message:
                raise _ApiError("Bad Request: message is not modified")
            self._messages[key] = changed
            return changed

    def sent_messages(self, chat_id: int) -> Iterator[ApiCall]:
        """Every sendMessage/sendPhoto call to a chat, in order."""
        with self._cond:
            calls = list(self.calls)
        for call in calls:
            if call.ok and call.method in {"sendMessage", "sendPhoto"} and call.chat_id == chat_id:
                yield call


class _ApiError(Exception):
    pass


class _Dropped(Exception):
    """A request held through a hang: closed without an answer."""


def _names(methods: frozenset[str], method: str) -> bool:
    """Whether an outage over ``methods`` (empty: every method) covers ``method``."""
    return not methods or method in methods


def _chat(chat_id: int) -> JSONDict:
    if chat_id < 0:
        return {"id": chat_id, "type": "group", "title": "Group"}
    return {"id": chat_id, "type": "private", "first_name": "User"}


def _user(user_id: int) -> JSONDict:
    return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": "id"}
