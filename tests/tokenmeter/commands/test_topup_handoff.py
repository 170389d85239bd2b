"""Tests for tokenmeter.commands.topup_handoff: the command's side of the hand-off, against
a socket that is not there, one a killed service left, and a service that breaks off."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.tokenmeter.services.simkit import sim_config, token
from tokenmeter.cli import main
from tokenmeter.commands.topup_handoff import error_from_wire, hand_off
from tokenmeter.config import Config
from tokenmeter.errors import HandoffFailed, InvalidToken, TokenmeterError, UnknownMeter
from tokenmeter.handoff import SECRET_FILE, SOCKET_FILE, error_to_wire
from tokenmeter.texts import error_sentence


def _config(tmp_path: Path) -> Config:
    return sim_config(tmp_path, "mqtt://127.0.0.1:1")


@pytest.fixture
async def breaking_service(tmp_path: Path) -> AsyncIterator[list[bytes]]:
    """A service that takes the request, says it has it, then stops answering; the
    requests it got are listed."""
    got: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got.append(await reader.readline())
        writer.write(b'{"say": "[Rumah] Token ****-****-****-****-0071 dicatat."}\n')
        writer.close()

    (tmp_path / SECRET_FILE).write_text("s" * 64, encoding="ascii")
    server = await asyncio.start_unix_server(serve, str(tmp_path / SOCKET_FILE))
    yield got
    server.close()
    await server.wait_closed()


async def test_without_a_service_the_command_works_alone(tmp_path: Path) -> None:
    """No socket, or a socket file nobody listens on (a killed service): None."""
    config = _config(tmp_path)
    assert await hand_off(config, "rumah", token(1), "id", None) is None
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / SOCKET_FILE))
    stale.close()
    assert await hand_off(config, "rumah", token(1), "id", None) is None


async def test_a_service_that_stops_answering_is_lost_not_refused(
    tmp_path: Path, breaking_service: list[bytes]
) -> None:
    """The stage lines said so far are shown; then ``HandoffFailed("lost")``, and the
    request carried the secret from the file."""
    said: list[str] = []
    with pytest.raises(HandoffFailed) as caught:
        await hand_off(_config(tmp_path), "rumah", token(71), "id", said.append)
    assert caught.value.reason == "lost"
    assert said == ["[Rumah] Token ****-****-****-****-0071 dicatat."]
    assert json.loads(breaking_service[0])["secret"] == "s" * 64


async def test_a_secret_that_cannot_be_read_is_told(
    tmp_path: Path, breaking_service: list[bytes]
) -> None:
    """The socket answers but the secret file is not there: ``no_access``, nothing sent."""
    (tmp_path / SECRET_FILE).unlink()
    with pytest.raises(HandoffFailed) as caught:
        await hand_off(_config(tmp_path), "rumah", token(71), "id", None)
    assert caught.value.reason == "no_access"
    assert "tidak bisa menghubunginya" in error_sentence(caught.value)
    assert breaking_service == []


async def test_the_command_says_when_the_service_stopped_answering(
    tmp_path: Path, breaking_service: list[bytes]
) -> None:
    """``tokenmeter topup`` told of a lost hand-off: exit 4 and one sentence (text), or
    one JSON object with status UNKNOWN."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\nsqlite_path = "{tmp_path / "tm.db"}"\n\n[[meters]]\nid = "rumah"\n',
        encoding="utf-8",
    )

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(
            main, ["topup", "-", "--config", str(config), *args], input=f"{token(71)}\n"
        )
        return result.exit_code, result.stdout, result.stderr

    code, out, err = await asyncio.to_thread(run)
    assert code == 4 and "Layanan berhenti menjawab" in err, (out, err)
    code, out, _ = await asyncio.to_thread(run, "--json", "--lang", "en")
    answer = json.loads(out)
    assert code == 4 and answer["status"] == "UNKNOWN" and answer["reason"] == "lost"
    assert answer["message"].startswith("The service stopped answering")


def test_refusals_come_back_as_the_commands_own_errors() -> None:
    """A token refused by the service reads as if refused here; an unknown code is a
    plain error sentence."""
    short = error_from_wire(error_to_wire(InvalidToken("length", count=5)))
    assert isinstance(short, InvalidToken)
    assert error_sentence(short) == error_sentence(InvalidToken("length", count=5))
    meter = error_from_wire(error_to_wire(UnknownMeter("nope", meter="nope")))
    assert isinstance(meter, UnknownMeter) and error_sentence(meter) == "Meter nope tidak dikenal."
    other = error_from_wire({"code": "something_new"})
    assert type(other) is TokenmeterError
    assert error_sentence(other) == "Terjadi kesalahan. Silakan coba lagi."
