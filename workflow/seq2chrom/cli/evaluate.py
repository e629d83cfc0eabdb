"""CLI subcommands of the evaluate stage (placeholder until the stage lands)."""


def register(subparsers) -> None:
    pass
