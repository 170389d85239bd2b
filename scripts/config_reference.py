"""Print the configuration reference (every setting, its default and description)
as a markdown table, generated from the pydantic models in ``tokenmeter.config``.

    .venv/bin/python scripts/config_reference.py                 # print the table
    .venv/bin/python scripts/config_reference.py --write README.md   # refresh README's block

The README holds this output between ``<!-- config-reference:start -->`` and
``<!-- config-reference:end -->``; ``tests/scripts/test_config_reference.py`` fails when
the two differ, so the README stays true when the configuration changes.
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from tokenmeter.config import Config

START_MARKER = "<!-- config-reference:start -->"
END_MARKER = "<!-- config-reference:end -->"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class of a field typed ``Model`` or ``list[Model]``, else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
    return None


def _default_of(field: FieldInfo) -> Any:
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return field.default


def format_value(value: Any) -> str:
    """A default as it would be written in TOML, inside backticks."""
    if value is PydanticUndefined:
        return "*(required)*"
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, bool):
        return f"`{'true' if value else 'false'}`"
    return f"`{json.dumps(value, ensure_ascii=False, default=str)}`"


def _cell(text: str) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def allowed_values(field: FieldInfo) -> str:
    """The values a field accepts beyond its type: choices and numeric bounds, or ""."""
    if typing.get_origin(field.annotation) is typing.Literal:
        choices = ", ".join(format_value(choice) for choice in typing.get_args(field.annotation))
        return f"One of {choices}."
    bounds = []
    for item in field.metadata:
        pattern = getattr(item, "pattern", None)
        if pattern is not None:
            return f"Must match `{pattern}`."
        for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            limit = getattr(item, attr, None)
            if limit is not None:
                bounds.append(f"{sign} {limit}")
    return f"Range: {', '.join(bounds)}." if bounds else ""


def setting_rows(model: type[BaseModel] = Config, prefix: str = "") -> list[tuple[str, str, str]]:
    """``(key path, default, description)`` for every leaf setting, in declaration order.

    Nested sections become ``section.key``; a list of tables (``[[meters]]``) becomes
    ``meters[].key`` with the defaults of one table.
    """
    rows: list[tuple[str, str, str]] = []
    for name, field in model.model_fields.items():
        nested = _model_in(field.annotation)
        if nested is not None:
            is_list = typing.get_origin(field.annotation) is list
            rows.extend(setting_rows(nested, f"{prefix}{name}{'[]' if is_list else ''}."))
            continue
        description = _cell(field.description or "")
        allowed = allowed_values(field)
        if allowed:
            description = f"{description} {allowed}".strip()
        rows.append((f"{prefix}{name}", format_value(_default_of(field)), description))
    return rows


def _list_defaults(model: type[BaseModel] = Config) -> list[str]:
    """A sentence for each list of tables whose embedded default is not empty."""
    notes: list[str] = []
    for name, field in model.model_fields.items():
        if _model_in(field.annotation) is None or typing.get_origin(field.annotation) is not list:
            continue
        default = _default_of(field)
        if not default:
            continue
        tables = "; ".join(
            ", ".join(
                f"{key} = {format_value(value)}"
                for key, value in item.model_dump(mode="json").items()
            )
            for item in default
        )
        notes.append(f"Without any `[[{name}]]` table the embedded default is: {tables}.")
    return notes


def config_reference() -> str:
    """The markdown block (table and notes) the README holds between its markers."""
    lines = ["| setting | default | description |", "|---|---|---|"]
    for key, default, description in setting_rows():
        lines.append(f"| `{key}` | {default} | {description} |")
    notes = _list_defaults()
    if notes:
        lines.append("")
        lines.extend(notes)
    return "\n".join(lines) + "\n"


def readme_block(text: str) -> str:
    """What a document holds between the markers (without the marker lines)."""
    start = text.index(START_MARKER) + len(START_MARKER)
    end = text.index(END_MARKER, start)
    return text[start:end].strip("\n") + "\n"


def replace_block(text: str, block: str) -> str:
    """The document with the block between the markers replaced."""
    start = text.index(START_MARKER) + len(START_MARKER)
    end = text.index(END_MARKER, start)
    return text[:start] + "\n" + block + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--write", type=Path, metavar="FILE", help="replace the block between the markers in FILE"
    )
    args = parser.parse_args(argv)
    block = config_reference()
    if args.write is None:
        sys.stdout.write(block)
        return 0
    text = args.write.read_text(encoding="utf-8")
    try:
        updated = replace_block(text, block)
    except ValueError:
        print(f"{args.write}: markers {START_MARKER} / {END_MARKER} not found", file=sys.stderr)
        return 2
    if updated != text:
        args.write.write_text(updated, encoding="utf-8")
        print(f"{args.write}: configuration reference updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
