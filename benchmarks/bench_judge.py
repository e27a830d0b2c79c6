"""Judge benchmark: batched judging vs one prompt at a time, and a rubric's calibration agreement.

Speed (the default): both sides judge the same answers with the same rubric, model and greedy settings in the same
run: ragdsl's path is ragdsl.evaluate.judge.judge with LocalGenerator(batch_size=8); the baseline
calls the same generator with batch_size=1, one prompt per call. Reported: judgments/s for each,
the ratio (batched / one-at-a-time), and how many parsed scores agree (padding can change a
greedy token in bf16, so agreement is reported, not asserted).

    python benchmarks/bench_judge.py                 # 16 answers, qwen2.5-coder-0.5b-instruct
    python benchmarks/bench_judge.py --smoke         # 8 answers (CI)
    python benchmarks/bench_judge.py --model qwen2.5-coder-1.5b-instruct --json

Target: ratio >= 2 on a CPU. Exits 1 only when a side returns the wrong number of judgments.

Calibration (`--calibration METRIC`): the judge scores the calibration cases of METRIC's rubric
with exactly the evaluate node's settings (ragdsl.evaluate.judge.build_prompt, LocalGenerator
batches of 8 in calls of 32, greedy, at most 48 new tokens, chat template and precision "auto")
and the agreement with the labels is printed: Spearman, Kendall, exact, within one point, mean
absolute error, the warning an evaluation would carry, and every case scored more than one point
off. `--rubric FILE` measures another rubric text on the same cases (e.g. an older version),
`--cases FILE` other cases. Nothing is cached: every run is real inference.

    python benchmarks/bench_judge.py --calibration accuracy --model qwen2.5-coder-1.5b-instruct
    git show REV:ragdsl/evaluate/rubrics/accuracy.md > /tmp/accuracy-old.md
    python benchmarks/bench_judge.py --calibration accuracy --rubric /tmp/accuracy-old.md \
        --model qwen2.5-coder-1.5b-instruct
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

QUESTIONS = [
    ("Where is insulin made?", "the pancreas", "Insulin is made in the pancreas."),
    ("What does hemoglobin carry?", "oxygen", "Hemoglobin carries oxygen in red blood cells."),
    ("Which organ filters blood?", "the kidneys", "The liver."),
    ("What causes malaria?", "Plasmodium parasites", "Mosquitoes transmit Plasmodium, which causes it."),
]
PREDICTIONS = ["{gold}", "I do not know.", "It is {gold}, mostly.", "Not {gold}."]


def items(n: int) -> list[dict]:
    out = []
    for i in range(n):
        question, gold, evidence = QUESTIONS[i % len(QUESTIONS)]
        prediction = PREDICTIONS[(i // len(QUESTIONS)) % len(PREDICTIONS)].format(gold=gold)
        out.append({"question": question, "answers": [gold], "context": evidence, "prediction": prediction})
    return out


def calibration(args) -> int:
    from pathlib import Path

    from ragdsl.evaluate.calibration import agreement, judge_cases, load_calibration
    from ragdsl.evaluate.judge import build_prompt, parse_reply
    from ragdsl.evaluate.rubric import BUILTIN, builtin_rubric, parse_rubric
    from ragdsl.execute.runners.evaluate import JUDGE_BATCH, JUDGE_CHUNK
    from ragdsl.lower.components import LocalGenerator
    from ragdsl.models import materialize, resolve_model

    if args.rubric:
        path = Path(args.rubric)
        rubric = parse_rubric(path.read_text(encoding="utf-8"), str(path))
    else:
        rubric, path = builtin_rubric(args.calibration), BUILTIN / f"{args.calibration}.md"
    if rubric.name != args.calibration:
        print(f"{path} scores {rubric.name}, not {args.calibration}", file=sys.stderr)
        return 1
    cases_path = Path(args.cases) if args.cases else (
        path.parent / rubric.calibration if rubric.calibration else BUILTIN / f"{args.calibration}.calibration.jsonl")
    cases = load_calibration(cases_path, rubric).cases[:args.limit or None]
    folder = str(materialize(resolve_model(args.model, "generator")))
    generator = LocalGenerator(folder, max_new_tokens=48, temperature=0.0, seed=0, batch_size=JUDGE_BATCH,
                               device=args.device)
    generator.warm_up()
    prompts = [build_prompt(rubric, c.item()) for c in cases]
    start = time.perf_counter()
    replies = judge_cases(lambda p: generator.run(prompts=p)["replies"], prompts, JUDGE_CHUNK)
    seconds = time.perf_counter() - start
    found = [parse_reply(r, rubric.low, rubric.high) for r in replies]
    stats = agreement([c.expected for c in cases], [j.score for j in found])
    off = [{"id": c.id, "expected": c.expected, "score": j.score, "raw": j.raw[:160]}
           for c, j in zip(cases, found) if j.score is None or abs(j.score - c.expected) > 1]
    words = sum(len(p.split()) for p in prompts) / len(prompts)
    report = {"model": args.model, "rubric": f"{path.name} (version {rubric.version})", "cases": cases_path.name,
              "seconds": round(seconds, 1), "prompt_words": round(words), **stats, "off_by_more_than_1": off,
              "scores": {c.id: j.score for c, j in zip(cases, found)}}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"judge {args.model}, rubric {report['rubric']}, {len(cases)} cases from {cases_path.name}, "
          f"{seconds:.0f} s, ~{words:.0f} words a prompt")
    for key in ("n", "unparseable", "spearman", "kendall", "exact", "within_1", "mae"):
        value = stats[key]
        print(f"  {key:<12}{value:.3f}" if isinstance(value, float) else f"  {key:<12}{value}")
    print(f"  warning     {stats['warning'] or '-'}")
    for row in off:
        print(f"  off by >1: {row['id']}: expected {row['expected']}, got {row['score']}: {row['raw']!r}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--answers", type=int, default=16)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--calibration", choices=("accuracy", "completeness", "faithfulness"),
                        help="measure this rubric's calibration agreement instead of speed")
    parser.add_argument("--rubric", help="with --calibration: a rubric file to measure instead of the built-in")
    parser.add_argument("--cases", help="with --calibration: a calibration file instead of the rubric's")
    parser.add_argument("--limit", type=int, help="with --calibration: only the first N cases")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.calibration:
        return calibration(args)
    from ragdsl.evaluate.judge import judge
    from ragdsl.evaluate.rubric import builtin_rubric
    from ragdsl.lower.components import LocalGenerator
    from ragdsl.models import materialize, resolve_model

    n = 8 if args.smoke else args.answers
    folder = str(materialize(resolve_model(args.model, "generator")))
    rubric, cases = builtin_rubric("accuracy"), items(n)
    results = {}
    for name, batch in (("batched", 8), ("one_at_a_time", 1)):
        generator = LocalGenerator(folder, max_new_tokens=48, batch_size=batch, device=args.device)
        generator.warm_up()
        start = time.perf_counter()
        found = judge(lambda prompts, g=generator: g.run(prompts=prompts)["replies"], rubric, cases)
        seconds = time.perf_counter() - start
        if len(found) != n:
            print(f"{name}: {len(found)} judgments for {n} answers", file=sys.stderr)
            return 1
        results[name] = {"seconds": round(seconds, 2), "judgments_per_s": round(n / seconds, 3),
                         "scores": [j.score for j in found]}
    agree = sum(a == b for a, b in zip(results["batched"]["scores"], results["one_at_a_time"]["scores"]))
    ratio = results["batched"]["judgments_per_s"] / results["one_at_a_time"]["judgments_per_s"]
    report = {"model": args.model, "answers": n, "ratio": round(ratio, 2), "scores_agree": f"{agree}/{n}",
              **{k: {x: v for x, v in r.items() if x != "scores"} for k, r in results.items()}}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"judge {args.model}, {n} answers (accuracy rubric, greedy, max 48 new tokens)")
        print(f"{'side':<16}{'seconds':>10}{'judgments/s':>14}")
        for name in ("batched", "one_at_a_time"):
            print(f"{name:<16}{results[name]['seconds']:>10.2f}{results[name]['judgments_per_s']:>14.3f}")
        print(f"ratio (batched / one at a time): {ratio:.2f}  (target >= 2); parsed scores agree: {agree}/{n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
