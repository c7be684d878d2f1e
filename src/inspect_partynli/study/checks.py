"""Checks before running (``preflight``): unknown providers, missing API keys and client
packages, found for every model at once, so that a study does not stop after an hour."""

from __future__ import annotations

import os
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


def preflight(configs: Sequence[Configuration]) -> list[str]:
    """Every problem that would stop a run later, found now: unknown providers, missing API
    keys (in the environment or a ``.env`` file, as Inspect reads them) and missing client
    packages.

    Returns one message per problem (empty: ready to run): one per unknown provider, one per
    missing key and one per missing package, each naming the models that need it.
    """
    from inspect_ai._util.dotenv import init_dotenv

    init_dotenv()
    providers = registered_providers()
    unknown: list[str] = []
    keys: dict[tuple[str, ...], list[str]] = {}
    packages: dict[str, list[str]] = {}
    seen: set[str] = set()
    for config in configs:
        model = config.model
        if model.id in seen:
            continue
        seen.add(model.id)
        who = f"{config.where} ({model.id})"
        if model.provider not in providers:
            unknown.append(
                f"{who}: unknown model provider {model.provider!r} "
                f"(known: {', '.join(sorted(providers))})"
            )
            continue
        variables = key_variables(model)
        has_key = "api_key" in model.args or any(os.environ.get(v) for v in variables)
        if variables and not has_key:
            keys.setdefault(variables, []).append(who)
        module, package = PROVIDER_PACKAGES.get(model.provider, ("", ""))
        if module and not _module_available(module):
            packages.setdefault(package, []).append(who)
    problems = list(unknown)
    for variables, models in keys.items():
        alternatives = f" (or {', '.join(variables[1:])})" if len(variables) > 1 else ""
        problems.append(f"{variables[0]}{alternatives} is not set; needed by {_few(models)}")
    for package, models in packages.items():
        problems.append(
            f"Python package {package} is not installed (pip install {package}); "
            f"needed by {_few(models)}"
        )
    return problems


def _few(items: Sequence[str], shown: int = 4) -> str:
    """``a, b, c, d and 3 more``."""
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")
