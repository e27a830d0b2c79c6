"""Judge benchmark: batched judging (what the evaluate node does) vs one prompt at a time.

Both sides judge the same answers with the same rubric, model and greedy settings in the same
run: ragdsl's path is ragdsl.evaluate.judge.judge with LocalGenerator(batch_size=8); the baseline
calls the same generator with batch_size=1, one prompt per call. Reported: judgments/s for each,
the ratio (batched / one-at-a-time), and how many parsed scores agree (padding can change a
greedy token in bf16, so agreement is reported, not asserted).

    python benchmarks/bench_judge.py                 # 16 answers, qwen2.5-coder-0.5b-instruct
    python benchmarks/bench_judge.py --smoke         # 8 answers (CI)
    python benchmarks/bench_judge.py --model qwen2.5-coder-1.5b-instruct --json

Target: ratio >= 2 on a CPU. Exits 1 only when a side returns the wrong number of judgments.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--answers", type=int, default=16)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
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
