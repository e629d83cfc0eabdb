"""CLI subcommands of the train stage (placeholder until the stage lands)."""


def register(subparsers) -> None:
    pass
