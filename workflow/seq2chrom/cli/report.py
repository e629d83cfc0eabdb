"""CLI subcommands of the report stage (placeholder until the stage lands)."""


def register(subparsers) -> None:
    pass
