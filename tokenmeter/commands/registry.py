"""Every command module, gathered in one place for ``tokenmeter.cli``."""

from __future__ import annotations

import importlib

import click

# Each module defines ``COMMANDS: list[click.Command]``.
MODULES = (
    "tokenmeter.commands.read",  # tokenmeter read
    "tokenmeter.commands.store_cmds",  # config check, schedule, history
    "tokenmeter.commands.device_cmds",  # check, topup, simulate
    "tokenmeter.commands.serve",  # serve, demo
    "tokenmeter.commands.enrol",  # enrol (read --profile reads with its folder)
    "tokenmeter.commands.overview_cmds",  # status (every meter)
    "tokenmeter.commands.export_cmds",  # export (records and billing)
    "tokenmeter.commands.profile_cmds",  # setup-camera, correct
    "tokenmeter.commands.meter_cmds",  # meter add|remove|rename|list|import
    "tokenmeter.commands.backup_cmds",  # backup, restore
    "tokenmeter.commands.install_cmds",  # install-service
)


def all_commands() -> list[click.Command]:
    commands: list[click.Command] = []
    for name in MODULES:
        commands.extend(importlib.import_module(name).COMMANDS)
    return commands
