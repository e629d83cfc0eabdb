"""CLI subcommands of the demo stage (placeholder until the stage lands)."""


def register(subparsers) -> None:
    pass
