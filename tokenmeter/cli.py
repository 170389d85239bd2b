"""The ``tokenmeter`` command: a thin shell over the services."""

from __future__ import annotations

import logging

import click

from tokenmeter.commands import registry
from tokenmeter.commands.common import VERBOSE


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="WARNING",
    show_default=True,
    help="Logging level for this command.",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Say which config file and database the command uses (on stderr).",
)
@click.pass_context
def main(ctx: click.Context, log_level: str, verbose: bool) -> None:
    """Watch and top up Indonesian prepaid electricity meters (PLN token listrik)."""
    ctx.meta[VERBOSE] = verbose
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


for _command in registry.all_commands():
    main.add_command(_command)
