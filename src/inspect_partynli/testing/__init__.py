"""Test doubles shared by the tests and the benchmarks (not used by the package itself).

:mod:`.openai_server` is a local OpenAI-compatible chat-completions server that answers as a
scripted participant and injects faults at seeded rates, so that the package's requests can
be checked on the wire through Inspect's real provider clients (``openai-api/...``,
``openai/...``, ``ollama/...``) without any network beyond 127.0.0.1.
"""

from .openai_server import (
    FAULT_KINDS,
    REPLY_FAULTS,
    TRANSIENT_FAULTS,
    AnnotatorsParticipant,
    Faults,
    Reply,
    ServerRecord,
    WireServer,
)

__all__ = [
    "FAULT_KINDS",
    "REPLY_FAULTS",
    "TRANSIENT_FAULTS",
    "AnnotatorsParticipant",
    "Faults",
    "Reply",
    "ServerRecord",
    "WireServer",
]
