"""Publishing 10,000 posts with 20,000 replies: time, and ratio to writing the same text unrendered.

Run: python benchmarks/bench_publish.py [--posts N] [--replies M]
Both are measured in this run on this machine, so the ratio is what to compare across machines.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import pandas as pd

from coursekit.discussion.site import Site, publish_site

WORDS = (
    "bureaucracy rules accountability peer production wikipedia volunteers weber authority charisma "
    "administrators commons labour market platform editors expertise rights equality records office"
).split()


def message(rng: random.Random, words: int) -> str:
    body = " ".join(rng.choice(WORDS) for _ in range(words))
    return f"I think *{rng.choice(WORDS)}* matters.\n\n- {body}\n- **{rng.choice(WORDS)}**\n\n> {body[:60]}"


def discussion(posts: int, replies: int, seed: int = 1) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = [
        dict(
            post_id=f"r-{i:08d}",
            parent_id=None,
            author=f"Student {i % 400}",
            thread_week=1 + i % 4,
            prompt_id=f"w{1 + i % 4}-p{i % 3}",
            message=message(rng, 120),
            like_count=rng.randrange(5),
            created_at=pd.Timestamp("2026-09-01") + pd.Timedelta(minutes=i),
            kind="reflection",
        )
        for i in range(posts)
    ]
    for j in range(replies):
        parent = rows[rng.randrange(len(rows))]
        rows.append(
            dict(
                parent,
                post_id=f"c-{j:08d}",
                parent_id=parent["post_id"],
                message=message(rng, 40),
                author=f"Student {j % 400}",
                like_count=rng.randrange(3),
                kind="reply",
            )
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--replies", type=int, default=20_000)
    args = parser.parse_args()
    frame = discussion(args.posts, args.replies)
    site = Site("Benchmark class", {}, {1: "One", 2: "Two", 3: "Three", 4: "Four"})
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        Path(tmp, "raw.txt").write_text("\n\n".join(frame["message"]), encoding="utf-8")
        baseline = time.perf_counter() - start

        start = time.perf_counter()
        written = publish_site(site, frame, Path(tmp, "site"))
        published = time.perf_counter() - start
        size = sum(p.stat().st_size for p in written) / 1e6
    print(f"{args.posts} posts + {args.replies} replies")
    print(f"  baseline, raw text written unrendered: {baseline:.3f} s")
    print(f"  publish_site (render, sanitize, thread, write {len(written)} pages, {size:.1f} MB): {published:.2f} s")
    print(f"  ratio publish / baseline: {published / baseline:.0f}x")


if __name__ == "__main__":
    main()
