"""Judge calibration: labelled cases shipped with a rubric, judged like answers, compared with their labels.

A rubric names its calibration file in its header (`calibration: accuracy.calibration.jsonl`,
relative to the rubric file). The file is JSON Lines, one labelled case a line:

```
{"id": "wrong-gene", "question": "...", "gold": ["BRCA1"], "evidence": "...", "passages": ["..."],
 "answer": "BRCA2", "expected": 1, "why": "a different gene"}
```

`gold`, `evidence` and `passages` are needed where the rubric's inputs name them (`gold`,
`evidence`, `contexts`); `expected` is an integer on the rubric's scale; `why` says, in one
line, why that score is right under the rubric. The judge reads each case through the same
prompt builder as an evaluated answer (`case.item()` has an answer row's shape).

Agreement with the labels is reported per judged metric (`agreement`), with a warning when it
is poor (`poor_agreement`). Judge replies are cached (`CalibrationCache`): judging ~30 cases
costs minutes on a CPU and is the same for every evaluation with the same judge, rubric,
cases and settings.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ragdsl.evaluate.rubric import Rubric

# Agreement below these is flagged (docs/evaluation.md, "Calibration"): with ~30 cases a Spearman
# of 0.5 is clearly above chance (p < 0.01) yet far from a judge one can rank systems with.
SPEARMAN_MIN = 0.5
WITHIN_ONE_MIN = 0.7
SCORED_MIN = 10  # fewer parsed replies than this say too little
UNPARSEABLE_MAX = 0.1  # share of cases whose reply gave no score
CACHE_VERSION = 1  # bump when what a cached entry holds changes
NOT_AVAILABLE = "the rubric names no calibration file"


class CalibrationError(ValueError):
    """A calibration file that cannot be used (the message names the line to fix)."""


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    gold: tuple[str, ...]
    evidence: str | None
    passages: tuple[str, ...]
    answer: str
    expected: int
    why: str

    def item(self) -> dict:
        """The case as an answer row (what ragdsl.evaluate.judge.build_prompt reads)."""
        return {"id": self.id, "question": self.question, "answers": list(self.gold), "context": self.evidence,
                "contexts": [{"text": p} for p in self.passages], "prediction": self.answer}


@dataclass(frozen=True)
class Calibration:
    file: str  # the name the rubric gives
    sha256: str  # of the file's bytes
    cases: tuple[Case, ...]


_NEEDS = {"gold": "gold", "evidence": "evidence", "contexts": "passages"}


def parse_calibration(text: str, rubric: Rubric, where: str) -> Calibration:
    cases: list[Case] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        at = f"{where}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CalibrationError(f"{at}: not a JSON object ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise CalibrationError(f"{at}: not a JSON object")
        cases.append(_case(row, rubric, at))
        if cases[-1].id in seen:
            raise CalibrationError(f"{at}: id '{cases[-1].id}' is used twice")
        seen.add(cases[-1].id)
    if not cases:
        raise CalibrationError(f"{where}: no cases")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Calibration(where.rsplit("/", 1)[-1], digest, tuple(cases))


def _case(row: dict, rubric: Rubric, at: str) -> Case:
    for key in ("id", "question", "answer", "why"):
        if not isinstance(row.get(key), str):
            raise CalibrationError(f"{at}: '{key}' must be a string")
    expected = row.get("expected")
    if isinstance(expected, bool) or not isinstance(expected, int) or not rubric.low <= expected <= rubric.high:
        raise CalibrationError(f"{at}: 'expected' must be an integer from {rubric.low} to {rubric.high}")
    for name, key in _NEEDS.items():
        if name in rubric.inputs and not row.get(key):
            raise CalibrationError(f"{at}: the rubric shows '{name}', so the case needs '{key}'")
    gold, passages = row.get("gold") or [], row.get("passages") or []
    if not (isinstance(gold, list) and all(isinstance(g, str) for g in gold)):
        raise CalibrationError(f"{at}: 'gold' must be a list of strings")
    if not (isinstance(passages, list) and all(isinstance(p, str) for p in passages)):
        raise CalibrationError(f"{at}: 'passages' must be a list of strings")
    evidence = row.get("evidence")
    if evidence is not None and not isinstance(evidence, str):
        raise CalibrationError(f"{at}: 'evidence' must be a string")
    return Case(row["id"], row["question"], tuple(gold), evidence, tuple(passages), row["answer"], expected,
                row["why"])


def load_calibration(path: Path, rubric: Rubric) -> Calibration:
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"cannot read the calibration file {path.name} of rubric {rubric.name}: {exc}") from exc
    return parse_calibration(text, rubric, path.name)


def calibration_path(rubric: Rubric, folder: Path) -> Path | None:
    """The calibration file a rubric names, relative to the rubric's folder; None when it names none."""
    return folder / rubric.calibration if rubric.calibration else None


def agreement(expected: Sequence[int], scores: Sequence[float | None]) -> dict:
    """How a judge's scores of the calibration cases agree with their labels (on the rubric's scale).

    Over the n cases whose reply had a score: Spearman and Kendall (scipy, via
    ragdsl.evaluate.stats.agreement), the share scored exactly as labelled, the share
    within one point, and the mean absolute error. `unparseable` counts the others.
    """
    from ragdsl.evaluate import stats

    pairs = [(float(e), float(s)) for e, s in zip(expected, scores, strict=True) if s is not None]
    n = len(pairs)
    ranks = stats.agreement([p[1] for p in pairs], [p[0] for p in pairs])
    diffs = [abs(s - e) for e, s in pairs]
    out = {"cases": len(expected), "n": n, "unparseable": len(expected) - n,
           "spearman": ranks["spearman"], "kendall": ranks["kendall"],
           "exact": sum(d == 0 for d in diffs) / n if n else None,
           "within_1": sum(d <= 1 for d in diffs) / n if n else None,
           "mae": math.fsum(diffs) / n if n else None}
    out["warning"] = poor_agreement(out)
    return out


def poor_agreement(found: dict) -> str | None:
    """Why a judge's calibration agreement is too poor to trust its means, or None."""
    reasons = []
    if found["n"] < SCORED_MIN:
        reasons.append(f"only {found['n']} of {found['cases']} cases scored (< {SCORED_MIN})")
    elif found["spearman"] is None:
        reasons.append("the judge gave every case the same score")
    elif found["spearman"] < SPEARMAN_MIN:
        reasons.append(f"Spearman {found['spearman']:.2f} < {SPEARMAN_MIN}")
    if found["within_1"] is not None and found["within_1"] < WITHIN_ONE_MIN:
        reasons.append(f"within one point on {found['within_1']:.0%} of cases (< {WITHIN_ONE_MIN:.0%})")
    if found["cases"] and found["unparseable"] / found["cases"] > UNPARSEABLE_MAX:
        reasons.append(f"{found['unparseable']} of {found['cases']} replies unparseable "
                       f"(> {UNPARSEABLE_MAX:.0%})")
    return "; ".join(reasons) or None


def not_available(reason: str = NOT_AVAILABLE) -> dict:
    """What a calibration entry says when there is nothing to calibrate against."""
    return {"available": False, "reason": reason, "file": None, "sha256": None, "cases": 0, "n": 0,
            "unparseable": 0, "spearman": None, "kendall": None, "exact": None, "within_1": None, "mae": None,
            "warning": None}


def cache_key(material: dict) -> str:
    from ragdsl.hashing import canonical_json

    return hashlib.sha256(canonical_json({"version": CACHE_VERSION, **material}).encode("utf-8")).hexdigest()


def key_material(identity: str, rubric: Rubric, calibration: Calibration, settings: dict,
                 prompts: Sequence[str]) -> dict:
    """What a cached calibration is keyed by: the judge's weights, rubric, cases, settings and exact prompts
    (so a change to the prompt builder is a miss too)."""
    prompt_digest = hashlib.sha256("\x00".join(prompts).encode("utf-8")).hexdigest()
    return {"identity": identity, "rubric": rubric.sha256, "calibration": calibration.sha256,
            "settings": dict(sorted(settings.items())), "prompts": prompt_digest}


class CalibrationCache:
    """Judge replies to calibration cases, one JSON file per key under `root`, written atomically."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def get(self, key: str, material: dict, count: int) -> list[str] | None:
        try:
            data = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        replies = data.get("replies") if isinstance(data, dict) else None
        if data.get("key") != json.loads(json.dumps(material)) or not isinstance(replies, list) \
                or len(replies) != count or not all(isinstance(r, str) for r in replies):
            return None  # another key's entry, or a damaged one: judge again
        return replies

    def put(self, key: str, material: dict, replies: list[str]) -> None:
        from ragdsl.execute.store import atomic_write_text

        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path(key), json.dumps({"key": material, "replies": replies}, indent=1,
                                                     sort_keys=True) + "\n")


def default_cache() -> CalibrationCache:
    from ragdsl.paths import cache_dir

    return CalibrationCache(cache_dir() / "judge-calibration")


def judge_cases(generate: Callable[[list[str]], list[str]], prompts: Sequence[str], chunk: int,
                advance: Callable[[int], None] | None = None) -> list[str]:
    """Judge replies to the prompts, in calls of `chunk` prompts (as the evaluation judges its answers)."""
    replies: list[str] = []
    for start in range(0, len(prompts), chunk):
        part = list(prompts[start:start + chunk])
        found = generate(part)
        if len(found) != len(part):
            raise RuntimeError(f"the judge returned {len(found)} replies for {len(part)} prompts")
        replies += [r if isinstance(r, str) else repr(r) for r in found]
        if advance is not None:
            advance(len(part))
    return replies
