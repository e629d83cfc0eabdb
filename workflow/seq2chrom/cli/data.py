"""CLI subcommands of the data stage (placeholder until the stage lands)."""


def register(subparsers) -> None:
    pass
