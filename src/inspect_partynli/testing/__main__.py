"""``python -m inspect_partynli.testing``: the local OpenAI-compatible test server, standalone
(see :func:`inspect_partynli.testing.openai_server.main`)."""

from .openai_server import main

main()
