"""Study files: one YAML file describes a whole PartyNLI study; run it, resume it, report it.

A study file names the task parameters, the participants (Inspect model ids) and the
experiments of the paper (Section 3): every model annotates every item ``epochs`` times
(SINGLE / MODEL MIX), some models are swept over temperature or top-p (``sweeps``), and size
families are run member by member (``sizes``).  :func:`load_study` validates the whole file
into frozen dataclasses *before anything runs* and reports every problem at once, each with
its key path (``models[3].id: ...``).  :func:`configurations` expands a study into the
runs it needs, each with its own log folder so that sweeps and sizes never collide;
:func:`run_study` feeds them to Inspect's ``eval_set`` (retries; re-running skips finished
work); :func:`report_inputs` gives the report the study's logs and groups.

Schema (every key but ``models`` optional)::

    name: paper                    # default: the file's stem
    task: {data: null, subset: all}
    epochs: 5                      # annotations per item and model (the paper's 5 trials)
    log_dir: logs/paper            # relative to the working directory; default logs/<name>
    max_connections: 10            # per run; a model's own max_connections overrides it
    max_tasks: 4                   # runs at once (default: one per provider and base URL)
    batch: false                   # Inspect's batch mode (true, or a batch size)
    models:
      - id: openai/gpt-4.1         # Inspect model id: provider/model
        name: gpt-4.1              # short name used by groups, sweeps, single (default: id)
        participant: gpt-4.1       # name in the annotation table (default: name)
        num_params: 1800           # billions, if known
        args: {}                   # Inspect model args (-M)
        base_url: null
        max_connections: 20
        prices: {input: 2.0, output: 8.0}   # USD per million tokens (dry-run cost plan)
    groups:                        # named sets of models; ``all`` (every model) is implied
      model_mix_hi: [gpt-4.1]
    single: gpt-4.1                # the SINGLE row of Table 2 (default: the first model)
    sweeps:
      - model: gpt-4.1
        temperature: 2.0           # the maximum; or {max: 2.0, epochs: 10}
        top_p: 1.0
    sizes:
      gemma3:
        - {id: ollama/gemma3:1b, num_params: 1}
    estimators:                    # more ways to read a model's distribution (its SINGLE run
      - model: gpt-4.1             # is its sampling estimator): epochs per item of each
        logprobs: 1
        verbalized: 1
        args: {}                   # extra model args of these runs

Strings may use ``${VAR}`` or ``${VAR:-default}`` (environment variables).  Input paths
(``task.data`` and the model args ``path`` / ``data`` / ``*_path`` / ``*_file`` / ``*_dir``)
are resolved relative to the study file, so a study and its inputs travel together.

The package's modules: :mod:`.schema` (the dataclasses and the keys of a study file),
:mod:`.validation` (reading and validating a file), :mod:`.expansion` (the runs a study
needs), :mod:`.checks` (providers, keys, packages, Ollama before running), :mod:`.running`
(planning and running through ``eval_set``) and :mod:`.reporting` (the report's inputs).
"""

from .checks import (
    PROVIDER_KEYS,
    PROVIDER_PACKAGES,
    key_variables,
    ollama_models,
    ollama_problems,
    preflight,
    registered_providers,
)
from .expansion import Configuration, configurations
from .reporting import ReportInputs, report_inputs, study_annotations, write_report_table
from .running import (
    ModelRequests,
    PlannedRun,
    RunResult,
    folder_state,
    format_plan,
    parse_shard,
    plan,
    requests_per_model,
    run_one,
    run_study,
    shard_of,
    stale_runs,
    study_items,
)
from .schema import (
    ALL_GROUP,
    DEFAULT_EXPERIMENT,
    METADATA_KEY,
    SIZE_EXPERIMENT,
    SWEEP_EXPERIMENT,
    ModelSpec,
    SizeFamily,
    Study,
    StudyError,
    SweepSpec,
    slug,
)
from .validation import load_study, packaged_studies, parse_study, resolve_study_path

__all__ = [
    "ALL_GROUP",
    "DEFAULT_EXPERIMENT",
    "METADATA_KEY",
    "PROVIDER_KEYS",
    "PROVIDER_PACKAGES",
    "SIZE_EXPERIMENT",
    "SWEEP_EXPERIMENT",
    "Configuration",
    "ModelRequests",
    "ModelSpec",
    "PlannedRun",
    "ReportInputs",
    "RunResult",
    "SizeFamily",
    "Study",
    "StudyError",
    "SweepSpec",
    "configurations",
    "folder_state",
    "format_plan",
    "key_variables",
    "load_study",
    "ollama_models",
    "ollama_problems",
    "packaged_studies",
    "parse_shard",
    "parse_study",
    "plan",
    "preflight",
    "registered_providers",
    "report_inputs",
    "requests_per_model",
    "resolve_study_path",
    "run_one",
    "run_study",
    "shard_of",
    "slug",
    "stale_runs",
    "study_annotations",
    "study_items",
    "write_report_table",
]
