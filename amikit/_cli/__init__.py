"""One module per ``amikit`` subcommand: ``add_arguments(parser)`` and ``run(args) -> int``."""
