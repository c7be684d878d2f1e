"""Encoder loading failures reach the user as one clear error, not a traceback."""

from __future__ import annotations

import pytest

from inspect_partynli.errors import SourceError
from inspect_partynli.explanations import encoders


def test_download_failure_is_a_source_error(monkeypatch):
    sentence_transformers = pytest.importorskip("sentence_transformers")

    def offline(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files.\nmore")

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", offline)
    encoders._load_model.cache_clear()
    encoder = encoders.SentenceTransformerEncoder("org/model", local_files_only=False)
    with pytest.raises(SourceError, match=r"org/model could not be downloaded .*connect") as info:
        encoder.encode(["a text"])
    assert "\n" not in str(info.value)  # one line for the CLI
    encoders._load_model.cache_clear()
