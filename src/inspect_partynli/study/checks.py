"""Checks before running (``preflight``): unknown providers, missing API keys and client
packages, an Ollama server that does not answer or lacks a model, found for every model at
once, so that a study does not stop after an hour."""

from __future__ import annotations

import difflib
import json
import os
import urllib.request
from collections.abc import Sequence

from .expansion import Configuration
from .schema import ModelSpec

#: Environment variables that hold a provider's key (any one suffices).  Providers not listed
#: need none (ollama, vllm, hf, the offline ``partynli`` ones, ...).  ``openai-api/<service>/..``
#: reads ``<SERVICE>_API_KEY``.
PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY", "AZUREAI_OPENAI_API_KEY", "AZURE_OPENAI_API_KEY"),
    "anthropic": ("ANTHROPIC_API_KEY", "AZUREAI_ANTHROPIC_API_KEY", "AZURE_ANTHROPIC_API_KEY"),
    "google": ("GOOGLE_API_KEY", "GEMINI_API_KEY", "VERTEX_API_KEY"),
    "grok": ("XAI_API_KEY", "GROK_API_KEY"),
    "mistral": ("MISTRAL_API_KEY", "AZUREAI_MISTRAL_API_KEY", "AZURE_MISTRAL_API_KEY"),
    "together": ("TOGETHER_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "fireworks": ("FIREWORKS_API_KEY",),
    "moonshot": ("MOONSHOT_API_KEY",),
    "perplexity": ("PERPLEXITY_API_KEY",),
    "sambanova": ("SAMBANOVA_API_KEY",),
    "cloudflare": ("CLOUDFLARE_API_KEY",),
    "azureai": ("AZUREAI_API_KEY", "AZURE_API_KEY"),
}

#: Python modules a provider imports when it is first used, with their pip names.
_OPENAI_CLIENT = ("openai", "openai")
PROVIDER_PACKAGES: dict[str, tuple[str, str]] = {
    **{
        name: _OPENAI_CLIENT
        for name in (
            "openai",
            "openai-api",
            "openai-api-completions",
            "together",
            "openrouter",
            "ollama",
            "deepseek",
            "fireworks",
            "moonshot",
            "perplexity",
            "sambanova",
            "cloudflare",
            "vllm",
            "vllm-completions",
            "meta",
            "litellm-proxy",
        )
    },
    "anthropic": ("anthropic", "anthropic"),
    "google": ("google.genai", "google-genai"),
    "mistral": ("mistralai", "mistralai"),
    "grok": ("xai_sdk", "xai-sdk"),
    "groq": ("groq", "groq"),
}


def registered_providers() -> set[str]:
    """Names of every model API Inspect knows (built in and from installed plugins).

    Read from Inspect's registry without creating any model (creating one would need its
    key and client package).
    """
    import inspect_ai.model  # noqa: F401  (registers the built-in providers)
    from inspect_ai._util.entrypoints import ensure_entry_points
    from inspect_ai._util.registry import registry_find, registry_info, registry_unqualified_name

    from .. import providers  # noqa: F401  (this package's offline partynli/... models)

    ensure_entry_points()
    found = registry_find(lambda info: info.type == "modelapi")
    return {registry_unqualified_name(registry_info(api)) for api in found}


def _module_available(module: str) -> bool:
    from importlib.util import find_spec

    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def key_variables(model: ModelSpec) -> tuple[str, ...]:
    """The environment variables that can hold ``model``'s key (empty: it needs none)."""
    if model.provider == "openai-api":
        service = model.id.split("/")[1] if model.id.count("/") >= 2 else ""
        return (f"{service.upper().replace('-', '_')}_API_KEY",) if service else ()
    if model.provider == "google" and (
        os.environ.get("GOOGLE_GENAI_USE_VERTEXAI", "").lower() == "true"
        or model.args.get("vertexai")
    ):
        return ()  # Vertex AI authenticates with application default credentials
    return PROVIDER_KEYS.get(model.provider, ())


def preflight(configs: Sequence[Configuration], *, servers: bool = True) -> list[str]:
    """Every problem that would stop a run later, found now: unknown providers, missing API
    keys (in the environment or a ``.env`` file, as Inspect reads them), missing client
    packages and, with ``servers``, Ollama servers that do not answer or have not pulled a
    model (:func:`ollama_problems`; the study's other models are not called).

    Returns one message per problem (empty: ready to run): one per unknown provider, one per
    missing key, one per missing package and one per Ollama server, each naming the models
    that need it.
    """
    from inspect_ai._util.dotenv import init_dotenv

    init_dotenv()
    providers = registered_providers()
    unknown: list[str] = []
    keys: dict[tuple[str, ...], list[str]] = {}
    packages: dict[str, list[str]] = {}
    ollama: list[tuple[str, ModelSpec]] = []
    seen: set[str] = set()
    for config in configs:
        model = config.model
        if model.id in seen:
            continue
        seen.add(model.id)
        who = f"{config.where} ({model.id})"
        if model.provider not in providers:
            close = difflib.get_close_matches(model.provider, providers, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            unknown.append(
                f"{who}: unknown model provider {model.provider!r} "
                f"({hint}known: {', '.join(sorted(providers))})"
            )
            continue
        variables = key_variables(model)
        has_key = "api_key" in model.args or any(os.environ.get(v) for v in variables)
        if variables and not has_key:
            keys.setdefault(variables, []).append(who)
        module, package = PROVIDER_PACKAGES.get(model.provider, ("", ""))
        if module and not _module_available(module):
            packages.setdefault(package, []).append(who)
        if model.provider == "ollama":
            ollama.append((who, model))
    problems = list(unknown)
    for variables, models in keys.items():
        alternatives = f" (or {', '.join(variables[1:])})" if len(variables) > 1 else ""
        problems.append(f"{variables[0]}{alternatives} is not set; needed by {_few(models)}")
    for package, models in packages.items():
        problems.append(
            f"Python package {package} is not installed (pip install {package}); "
            f"needed by {_few(models)}"
        )
    if servers:
        problems += ollama_problems(ollama)
    return problems


#: Where Inspect's ollama provider connects unless the model has a base_url or
#: ``OLLAMA_BASE_URL`` is set.
OLLAMA_BASE_URL = "http://localhost:11434/v1"


def ollama_problems(models: Sequence[tuple[str, ModelSpec]], timeout: float = 3.0) -> list[str]:
    """``(who, model)`` pairs of ``ollama/...`` models whose server does not answer or has not
    pulled them: one message per server.  Asks each server once for its list of models
    (``GET /api/tags``), which loads no model."""
    servers: dict[str, list[tuple[str, ModelSpec]]] = {}
    for who, model in models:
        base = model.base_url or os.environ.get("OLLAMA_BASE_URL") or OLLAMA_BASE_URL
        servers.setdefault(base, []).append((who, model))
    problems = []
    for base, members in servers.items():
        try:
            pulled = ollama_models(base, timeout)
        except (OSError, ValueError) as error:
            reason = getattr(error, "reason", None) or error
            problems.append(
                f"the Ollama server at {base} does not answer ({reason}); start it "
                f"(`ollama serve`) or set OLLAMA_BASE_URL; needed by {_few(_who(members))}"
            )
            continue
        missing = [(w, m) for w, m in members if not _pulled(m.id.split("/", 1)[1], pulled)]
        if missing:
            first = missing[0][1].id.split("/", 1)[1]
            problems.append(
                f"the Ollama server at {base} has not pulled {_few(_who(missing))}: "
                f"`ollama pull {first}`{' etc.' if len(missing) > 1 else ''} first"
            )
    return problems


def _who(members: Sequence[tuple[str, ModelSpec]]) -> list[str]:
    return [who for who, _ in members]


def ollama_models(base_url: str, timeout: float = 3.0) -> set[str]:
    """Names of the models an Ollama server has pulled (``gemma3:1b``); ``base_url`` as the
    ollama provider takes it (with or without the OpenAI-compatible ``/v1``)."""
    root = base_url.rstrip("/").removesuffix("/v1")
    with urllib.request.urlopen(f"{root}/api/tags", timeout=timeout) as response:  # noqa: S310
        listing = json.load(response)
    if not isinstance(listing, dict) or not isinstance(listing.get("models"), list):
        raise ValueError("its /api/tags is not an Ollama model list")
    return {str(entry.get("name")) for entry in listing["models"] if isinstance(entry, dict)}


def _pulled(name: str, pulled: set[str]) -> bool:
    """Whether ``name`` (``gemma3:1b``, or ``phi4`` meaning ``phi4:latest``) is pulled."""
    return name in pulled or (":" not in name and f"{name}:latest" in pulled)


def _few(items: Sequence[str], shown: int = 4) -> str:
    """``a, b, c, d and 3 more``."""
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")
