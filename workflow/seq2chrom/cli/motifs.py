"""CLI subcommands of the motifs stage (placeholder until the stage lands)."""


def register(subparsers) -> None:
    pass
