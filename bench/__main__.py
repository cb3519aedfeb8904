"""`python -m bench`: generate a catalogue, serve it with uvicorn on 127.0.0.1, load it, and
print req/s and p50/p99 latency for /users/me and /projects beside a bare /hello route,
with the performance budget. Exits non-zero on a failed budget only with --strict."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.generate import Sizes
from bench.report import as_json, budget, render
from bench.runner import Options, run_engine


def _levels(raw: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 16,64, got {raw!r}") from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("concurrency levels must be 1 or more")
    return levels


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per run (3)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (5)")
    parser.add_argument("--concurrency", type=_levels, default=(16, 64), help="e.g. 16,64")
    parser.add_argument("--timeout", type=float, default=10.0, help="abort a request after (s)")
    parser.add_argument("--users", type=int, default=Sizes.users)
    parser.add_argument("--clients", type=int, default=Sizes.clients)
    parser.add_argument("--projects", type=int, default=Sizes.projects)
    parser.add_argument("--tasks", type=int, default=Sizes.tasks)
    parser.add_argument("--access-log", action="store_true", help="keep uvicorn's access log on")
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the budget fails")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = Sizes(users=args.users, clients=args.clients, projects=args.projects, tasks=args.tasks)
    opts = Options(
        duration=args.duration,
        rounds=args.rounds,
        concurrency=args.concurrency,
        timeout=args.timeout,
        access_log=args.access_log,
        sizes=sizes,
    )
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    results, broken = [], []
    for engine in engines:
        try:
            results.append(run_engine(engine, opts))
        except Exception as exc:  # one engine failing (PostgreSQL down) must not hide the other
            broken.append(f"== {engine}: not measured: {type(exc).__name__}: {exc}")
    print()
    for result in results:
        print(render(result))
        print()
    for line in broken:
        print(line, end="\n\n")
    if args.json:
        args.json.write_text(json.dumps([as_json(r) for r in results], indent=2, default=str))
    failed = bool(broken) or any(c.passed is False for r in results for c in budget(r))
    print(f"budget: {'FAIL' if failed else 'PASS'}" + ("" if args.strict else " (report only)"))
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
