"""``ccsync prices update``: refresh the price table this installation uses."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def prices() -> None:
    """The price table: ccusage 20.0.24's prices, and LiteLLM's for newer models."""


@prices.command()
@click.option(
    "--from",
    "source",
    metavar="FILE|URL|litellm==X.Y.Z",
    help="LiteLLM's model_prices_and_context_window.json: a file, a URL, a litellm wheel, "
    "or a litellm release (downloaded with pip). Default: LiteLLM's published list.",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="CCSYNC_DATA_DIR",
    help="Where the table goes (CCSYNC_DATA_DIR; default: the user data directory).",
)
def update(source: str | None, data_dir: Path | None) -> None:
    """Build the table from LiteLLM's list and make it this installation's.

    Every price ccusage 20.0.24 charges is kept as it charges it; LiteLLM's list prices
    the models newer than ccusage's table. Reports, the server and ``doctor`` use the
    new table from their next start; remove the file to go back to the packaged one.
    """
    from ccsync.prices import LITELLM_URL, PriceSourceError, installed_prices, update_prices

    before = installed_prices(data_dir).table
    try:
        table, path = update_prices(source or LITELLM_URL, data_dir)
    except PriceSourceError as exc:
        raise click.ClickException(" ".join(str(exc).split())) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write the price table: {exc}") from None
    newer = len(table.models) - len(table.ccusage)
    click.echo(
        f"{len(table.models)} models ({len(table.ccusage)} at ccusage 20.0.24's prices, "
        f"{newer} from LiteLLM) written to {path}"
    )
    added = sorted(name for name in table.models if before.find(name) is None)
    if added:
        click.echo(f"newly priced: {', '.join(added)}")
