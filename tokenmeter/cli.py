"""The ``tokenmeter`` command: a thin shell over the services."""

from __future__ import annotations

import logging

import click

from tokenmeter.commands import registry


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="WARNING",
    show_default=True,
    help="Logging level for this command.",
)
def main(log_level: str) -> None:
    """Watch and top up Indonesian prepaid electricity meters (PLN token listrik)."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


for _command in registry.all_commands():
    main.add_command(_command)
