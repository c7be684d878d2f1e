"""One module per ``partynli`` subcommand (see :mod:`inspect_partynli.cli`)."""
