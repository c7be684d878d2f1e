"""inspect_partynli: LLMs as annotation participants, compared with human label variation.

The Inspect task ``inspect_partynli/livenli`` runs the PartyNLI study (Kulmizev et al.) on
LiveNLI; the analysis functions read its logs into an annotation table and compute the
study's label and explanation variation metrics.
"""

__version__ = "0.1.0"
