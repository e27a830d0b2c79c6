"""Does an answer depend on which questions share its batch? Flip rate and cost of the remedies.

Real prompts: World Factbook questions with five passages each (the gold field and four other
fields of the same country, in a seeded order), rendered with experiments/prompts/answer.jinja,
answered by the packaged Qwen2.5-Coder-0.5B-Instruct with greedy decoding, as the quickstart does.

For each setting the same prompts are generated twice with different batch neighbours (all
prompts together, then the even- and odd-numbered ones apart), and once one prompt at a time:
- flips: prompts whose reply differs between the two compositions;
- vs alone: prompts whose reply differs from the one-at-a-time reply of the same precision;
- time: seconds for the all-together run, and its ratio to the default's.

Settings: the default (bf16 where the CPU has it, batches of 8, left padding), fp32 batches of
8, and `batch_invariant` (every prompt alone) in bf16. Run: python benchmarks/bench_batch_invariance.py
[--questions 40] [--smoke].
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def prompts(n: int, seed: int = 7) -> list[str]:
    import jinja2

    from ragdsl.data import read_source

    passages, questions = read_source({"call": "factbook", "args": {"release": "2025", "countries": []}}, Path)
    by_country: dict[str, list] = {}
    for p in passages:
        by_country.setdefault(p.meta["code"], []).append(p)
    rng = random.Random(seed)
    chosen = rng.sample(questions, n)
    template = jinja2.Environment().from_string((ROOT / "experiments/prompts/answer.jinja").read_text())
    out = []
    for q in chosen:
        gold = next(p for p in by_country[q.meta["code"]] if p.id == q.meta["passage_id"])
        others = [p for p in by_country[q.meta["code"]] if p.id != gold.id and len(p.text.split()) < 120]
        docs = [gold, *rng.sample(others, min(4, len(others)))]
        rng.shuffle(docs)
        out.append(template.render(question=q.question, documents=[{"content": d.text} for d in docs]))
    return out


def generate(folder: str, precision: str, prompts_: list[str], *, invariant: bool = False,
             generator=None) -> tuple[list[str], float, object]:
    from ragdsl.lower.components import LocalGenerator

    if generator is None or generator.precision != precision:
        generator = LocalGenerator(folder, precision=precision, max_new_tokens=32, batch_size=8)
        generator.warm_up()
    generator.batch_invariant = invariant
    start = time.perf_counter()
    replies = generator.run(prompts_)["replies"]
    return replies, time.perf_counter() - start, generator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--smoke", action="store_true", help="8 questions, bf16 only (CI)")
    args = parser.parse_args(argv)
    from ragdsl.lower.components import resolve_dtype
    from ragdsl.models import materialize, resolve_model

    n = 8 if args.smoke else args.questions
    folder = str(materialize(resolve_model("qwen2.5-coder-0.5b-instruct", "generator")))
    texts = prompts(n)
    auto = "bf16" if "bfloat16" in str(resolve_dtype("auto", "cpu")) else "fp32"
    settings = [("default", auto, False)] if args.smoke else [
        ("default", auto, False), ("fp32, batches of 8", "fp32", False), ("batch_invariant", auto, True)]
    rows, alone_cache, generator, base_time = [], {}, None, None
    for name, precision, invariant in settings:
        together, seconds, generator = generate(folder, precision, texts, invariant=invariant, generator=generator)
        even, _, generator = generate(folder, precision, texts[0::2], invariant=invariant, generator=generator)
        odd, _, generator = generate(folder, precision, texts[1::2], invariant=invariant, generator=generator)
        apart = [even[i // 2] if i % 2 == 0 else odd[i // 2] for i in range(n)]
        if precision not in alone_cache:
            alone_cache[precision] = generate(folder, precision, texts, invariant=True, generator=generator)[0]
        alone = alone_cache[precision]
        flips = sum(a != b for a, b in zip(together, apart))
        differ = sum(a != b for a, b in zip(together, alone)) + sum(a != b for a, b in zip(apart, alone))
        base_time = base_time or seconds
        rows.append((name, precision, flips, differ, seconds, seconds / base_time))
    print(f"{n} Factbook prompts, Qwen2.5-Coder-0.5B-Instruct, greedy, 32 new tokens")
    print("| setting | precision | flips between compositions | replies differing from one-at-a-time "
          "(of 2n) | time (s) | vs default |")
    print("|---|---|---:|---:|---:|---:|")
    for name, precision, flips, differ, seconds, ratio in rows:
        print(f"| {name} | {precision} | {flips}/{n} | {differ}/{2 * n} | {seconds:.1f} | {ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
