"""The ``tokenmeter`` command: a thin shell over the services."""

from __future__ import annotations

import logging

import click

from tokenmeter.commands import registry
from tokenmeter.commands.common import LOG_LEVEL, VERBOSE, log_level_option
from tokenmeter.commands.usage import TokenmeterGroup


@click.group(cls=TokenmeterGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    package_name="tokenmeter", prog_name="tokenmeter", message="%(prog)s %(version)s"
)
@log_level_option(None, "Log level (default: WARNING; serve: [service] log_level).")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Say which config file and database the command uses (on stderr).",
)
@click.pass_context
def main(ctx: click.Context, log_level: str | None, verbose: bool) -> None:
    """Watch and top up Indonesian prepaid electricity meters (PLN token listrik)."""
    ctx.meta[VERBOSE] = verbose
    ctx.meta[LOG_LEVEL] = log_level  # serve and demo set up logging with it themselves
    logging.basicConfig(
        level=(log_level or "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


for _command in registry.all_commands():
    main.add_command(_command)
