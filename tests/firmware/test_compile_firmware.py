"""scripts/compile_firmware.py: every firmware file through mpy-cross."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.scripts_loader import load_script


@pytest.fixture(scope="module")
def compiler() -> ModuleType:
    return load_script("compile_firmware")


def test_the_firmware_compiles(compiler: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    """All files under firmware/ compile for MicroPython."""
    assert compiler.main([]) == 0
    assert "firmware files compile" in capsys.readouterr().out


def test_a_broken_file_is_named_and_fails(
    compiler: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A syntax error, or CPython-only syntax MicroPython lacks, exits 1 naming the file."""
    (tmp_path / "good.py").write_text("x = 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "broken.py").write_text("def f(:\n")
    (tmp_path / "cpython_only.py").write_text("keys = (*'0123456789', 'enter')\n")
    assert compiler.main([str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "broken.py" in err and "cpython_only.py" in err and "good.py" not in err


def test_an_empty_tree_is_an_error(compiler: ModuleType, tmp_path: Path) -> None:
    """No files at all is a mistake (wrong path), not a pass."""
    assert compiler.main([str(tmp_path)]) == 1
