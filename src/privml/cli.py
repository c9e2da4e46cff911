"""Command-line interface (placeholder while the package is assembled)."""

import typer

app = typer.Typer(help="privml: measurable privacy for ML on sensitive data.", no_args_is_help=True)


@app.command()
def version() -> None:
    """Print the privml version."""
    from privml import __version__

    print(__version__)
