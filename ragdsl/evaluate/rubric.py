"""Judge rubrics: versioned Markdown files with a small header (name, version, scale, inputs).

```
---
name: accuracy          # the metric it scores
version: 1              # bump when the criteria change
scale: 1-5              # integer scores; reported normalised to 0..1
inputs: question, gold, evidence, answer
calibration: accuracy.calibration.jsonl   # optional: labelled cases, beside the rubric
---
criteria, the meaning of each score, and scored examples
```
Built-in rubrics ship in ragdsl/evaluate/rubrics/, each with its calibration cases
(ragdsl.evaluate.calibration); a spec's `rubric = "file.md"` replaces the built-in
rubric of the metric its header names. The sha256 of the rubric text and of its
calibration file enter the evaluate node's fingerprint, so editing either re-runs
the judging.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

BUILTIN = Path(__file__).with_name("rubrics")
JUDGED = ("accuracy", "completeness", "faithfulness")  # metrics scored with a rubric and a judge
INPUTS = ("question", "gold", "evidence", "contexts", "answer")
_HEADER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_SCALE = re.compile(r"^\s*(-?\d+)\s*-\s*(-?\d+)\s*$")


class RubricError(ValueError):
    """A rubric file that cannot be used (the message says which line to fix)."""


@dataclass(frozen=True)
class Rubric:
    name: str
    version: str
    low: int
    high: int
    inputs: tuple[str, ...]
    body: str
    sha256: str  # of the whole file's text
    calibration: str | None = None  # the calibration file the header names, relative to the rubric's folder

    def normalise(self, score: float) -> float:
        return (score - self.low) / (self.high - self.low)


def parse_rubric(text: str, where: str = "rubric") -> Rubric:
    match = _HEADER.match(text)
    if match is None:
        raise RubricError(f"{where}: a rubric starts with a '---' header (name, version, scale, inputs)")
    fields: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if line.strip() and not sep:
            raise RubricError(f"{where}: header line '{line.strip()}' is not 'key: value'")
        if sep:
            fields[key.strip().lower()] = value.split("#", 1)[0].strip()
    missing = [k for k in ("name", "version", "scale") if not fields.get(k)]
    if missing:
        raise RubricError(f"{where}: the header lacks {', '.join(missing)}")
    if fields["name"] not in JUDGED:
        raise RubricError(f"{where}: name '{fields['name']}' is not a judged metric ({', '.join(JUDGED)})")
    scale = _SCALE.match(fields["scale"])
    if scale is None or int(scale.group(1)) >= int(scale.group(2)):
        raise RubricError(f"{where}: scale '{fields['scale']}' is not 'LOW-HIGH' with LOW < HIGH, e.g. 1-5")
    inputs = tuple(x.strip() for x in fields.get("inputs", "question, gold, answer").split(",") if x.strip())
    unknown = [x for x in inputs if x not in INPUTS]
    if unknown or "answer" not in inputs:
        raise RubricError(f"{where}: inputs must include 'answer' and be among {', '.join(INPUTS)}"
                          + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    body = text[match.end():].strip()
    if not body:
        raise RubricError(f"{where}: the rubric has a header but no criteria")
    calibration = fields.get("calibration") or None
    if calibration is not None and (Path(calibration).is_absolute() or not calibration.endswith(".jsonl")):
        raise RubricError(f"{where}: calibration '{calibration}' is not a .jsonl file relative to the rubric")
    return Rubric(fields["name"], fields["version"], int(scale.group(1)), int(scale.group(2)), inputs, body,
                  hashlib.sha256(text.encode("utf-8")).hexdigest(), calibration)


def builtin_rubric(metric: str) -> Rubric:
    path = BUILTIN / f"{metric}.md"
    return parse_rubric(path.read_text(encoding="utf-8"), f"built-in rubric {path.name}")


def builtin_hashes(metrics) -> dict[str, str]:
    """sha256 of the built-in rubric of each judged metric named (for the evaluate node's params)."""
    return {m: hashlib.sha256((BUILTIN / f"{m}.md").read_bytes()).hexdigest()
            for m in sorted(set(metrics)) if m in JUDGED}


def calibration_hashes(metrics, custom: Path | None = None) -> dict[str, str]:
    """sha256 of the calibration file of the rubric each judged metric is scored with (built-in, or the
    custom rubric at `custom` for the metric it names); metrics whose rubric names none are left out.

    Never raises: a rubric or calibration file that cannot be read fails the evaluate node, which says why.
    """
    chosen = {m: BUILTIN / f"{m}.md" for m in sorted(set(metrics)) if m in JUDGED}
    if custom is not None:
        try:
            name = parse_rubric(custom.read_text(encoding="utf-8")).name
        except (OSError, UnicodeDecodeError, RubricError):
            name = None
        if name in chosen:
            chosen[name] = custom
    out = {}
    for metric, path in chosen.items():
        try:
            rubric = parse_rubric(path.read_text(encoding="utf-8"))
            if rubric.calibration:
                out[metric] = hashlib.sha256((path.parent / rubric.calibration).read_bytes()).hexdigest()
        except (OSError, UnicodeDecodeError, RubricError):
            continue
    return out


def rubrics_for(metrics, custom: Rubric | None) -> dict[str, Rubric]:
    out = {m: builtin_rubric(m) for m in sorted(set(metrics)) if m in JUDGED}
    if custom is not None:
        if custom.name not in out:
            raise RubricError(f"the rubric scores '{custom.name}', which is not among this evaluation's "
                              f"judged metrics ({', '.join(out) or 'none'})")
        out[custom.name] = custom
    return out
