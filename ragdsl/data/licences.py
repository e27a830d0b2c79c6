"""Licence and citation text for each kind of source, shown by `ragdsl data show` and in reports.

Licences are as their publishers document them; where a publisher states
none, the text says so instead of guessing.
"""

from __future__ import annotations

from collections.abc import Mapping

ATTRIBUTION: dict[str, str] = {
    "files": "provided by the spec author; its licence is the author's to state",
    "bigbench": "BIG-bench (Srivastava et al., 2023, \"Beyond the Imitation Game\", TMLR; arXiv:2206.04615), "
                "Apache-2.0; read from the bigbench==1.0.0 source distribution on PyPI",
    "squad": "SQuAD 1.1 (Rajpurkar et al., 2016, \"SQuAD: 100,000+ Questions for Machine Comprehension "
             "of Text\", EMNLP), CC BY-SA 4.0",
    "squad_shifts": "SQuAD-Shifts (Miller et al., 2020, \"The Effect of Natural Distribution Shift on "
                    "Question Answering Models\", ICML), CC BY 4.0",
    "coqa": "CoQA (Reddy et al., 2019, \"CoQA: A Conversational Question Answering Challenge\", TACL); "
            "licences differ by domain",
    "knowledge_conflict": "Entity-based knowledge conflicts (Longpre et al., 2021, \"Entity-Based Knowledge "
                          "Conflicts in Question Answering\", EMNLP), built from Natural Questions "
                          "(Kwiatkowski et al., 2019, TACL), CC BY-SA 3.0",
    "hf_dataset": "a Hugging Face dataset: its licence and citation are on its dataset card, "
                  "https://huggingface.co/datasets/{id}",
}

# As documented by CoQA; reddit and science exist only in its test set, which
# BIG-bench redistributes.
COQA_LICENCES: dict[str, str] = {
    "cnn": "CNN news (DeepMind Q&A dataset): Apache-2.0",
    "gutenberg": "literature (Project Gutenberg): CC BY-SA 4.0",
    "mctest": "children's stories (MCTest): MSR-LA",
    "race": "middle/high-school exams (RACE): RACE's licence, non-commercial research use only",
    "reddit": "Reddit (WritingPrompts): test-only domain; CoQA states no licence, distributed in BIG-bench",
    "science": "science (SciQ passages): test-only domain; CoQA states no licence, distributed in BIG-bench",
    "wikipedia": "Wikipedia: CC BY-SA 4.0",
}

_FILE_CALLS = frozenset({"jsonl", "csv", "parquet", "squad", "text", "markdown"})


def attribution(source: Mapping) -> str:
    """Licence and citation lines for a source, one per line."""
    call, args = source["call"], source.get("args") or {}
    if call in _FILE_CALLS:
        return ATTRIBUTION["files"]
    if call == "hf_dataset":
        return ATTRIBUTION["hf_dataset"].format(id=args.get("dataset") or args.get("id", ""))
    if call in ("dataset", "factbook"):
        from ragdsl.data.catalog import CATALOG
        from ragdsl.data.named import dataset_name

        entry = CATALOG[dataset_name(call, args)]
        return f"{entry.title}: {entry.citation}; licence: {entry.licence}"
    if call != "bigbench":
        raise ValueError(f"unknown source constructor {call!r}")
    collection, domain = args.get("collection", ""), args.get("domain")
    lines = [ATTRIBUTION["bigbench"]]
    if collection == "squad_dev":
        lines.append(ATTRIBUTION["squad"])
        if domain == "biomedical":  # its list includes four SQuAD-Shifts articles
            lines.append(ATTRIBUTION["squad_shifts"])
    elif collection.startswith("squad_shifts"):
        lines.append(ATTRIBUTION["squad_shifts"])
    elif collection == "coqa":
        lines.append(ATTRIBUTION["coqa"] + ":")
        domains = [domain] if domain in COQA_LICENCES else sorted(COQA_LICENCES)
        lines += [f"  - {COQA_LICENCES[d]}" for d in domains]
    elif collection == "knowledge_conflict":
        lines.append(ATTRIBUTION["knowledge_conflict"])
    return "\n".join(lines)
