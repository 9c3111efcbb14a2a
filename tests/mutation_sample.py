"""A seeded random sample of mutmut's mutants, run in the sample's own order (mutmut runs its
cheapest first, which would not be a random sample), each against the tests mutmut's stats map
to its function, quickest first, stopping at the first failure.

    pip install mutmut==3.8.1
    export GAN_MNIST_DIR=$PWD/../shared/data/mnist OMP_NUM_THREADS=1
    python -m tests.mutation_sample prepare    # mutmut's mutants/ and its test map (one suite run, ~10 min)
    python -m tests.mutation_sample draw --seed 20261207 --count 200 > sample.txt
    python -m tests.mutation_sample run sample.txt --log sample.jsonl   # resumable: skips logged names
    python -m tests.mutation_sample tally sample.jsonl

A function no test reached in mutmut's stats run (it runs only inside a subprocess the tests
start: the CLI, the gallery's training processes) is run against the test module that mirrors its
module (``gan/app/bursts.py`` -> ``tests/app/test_bursts.py``) and every test module that imports
it by name; the log says which route was taken.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

MUTANTS = Path("mutants")


def prepare() -> None:
    """mutmut's first two steps and no more: the mutated copy in mutants/ and, from one run of the
    suite there, which tests reach which function (mutmut-stats.json). mutmut 3.8.1's own functions."""
    from mutmut import __main__ as mutmut
    from mutmut.workers.isolation import get_mutant_runner
    mutmut.set_mutant_under_test("mutant_generation")
    MUTANTS.mkdir(exist_ok=True)
    mutmut.copy_src_dir()
    mutmut.copy_also_copy_files()
    mutmut.setup_source_paths()
    mutmut.store_lines_covered_by_tests()
    print(mutmut.create_mutants(os.cpu_count() or 1))
    mutmut.collect_or_load_stats(get_mutant_runner(1))


def all_mutant_names(exclude: tuple[str, ...] = ()) -> list[str]:
    names = []
    for meta in sorted(glob.glob(str(MUTANTS / "gan" / "**" / "*.py.meta"), recursive=True)):
        module = str(Path(meta).relative_to(MUTANTS))[: -len(".meta")]
        if module not in exclude:
            names += json.loads(Path(meta).read_text())["exit_code_by_key"]
    return sorted(names)


def module_path(name: str) -> Path:
    """`gan.app.bursts.x_burst__mutmut_3` -> gan/app/bursts.py (the longest dotted prefix that is a file)."""
    parts = name.partition("__mutmut_")[0].split(".")
    for end in range(len(parts), 0, -1):
        path = Path(*parts[:end]).with_suffix(".py")
        if (MUTANTS / path).is_file():
            return path
    raise ValueError(f"no module for {name}")


def fallback_tests(module: Path, function: str) -> list[str]:
    """The mirroring test module and every test module that names the module (its import path or
    file name) or the mutated function."""
    dotted = ".".join(module.with_suffix("").parts)
    words = (dotted, f"from {dotted.rpartition('.')[0]} import {module.stem}", module.stem, function)
    found = {mirror(module)} - {None}
    for test in glob.glob(str(MUTANTS / "tests" / "**" / "test_*.py"), recursive=True):
        if test.endswith("test_deploy.py"):               # reads git's file list: fails in any copy
            continue
        text = Path(test).read_text()
        if any(w in text for w in words):
            found.add(str(Path(test).relative_to(MUTANTS)))
    return sorted(found)


def function_name(name: str) -> str:
    """`gan.x.y.xǁClassǁmethod__mutmut_3` -> method; `gan.x.y.x_function__mutmut_3` -> function."""
    last = name.partition("__mutmut_")[0].rpartition(".")[2]
    return last.rpartition("ǁ")[2] if "ǁ" in last else last[2:]


def mirror(module: Path) -> str | None:
    """The test module that mirrors ``module``: gan/app/bursts.py -> tests/app/test_bursts.py."""
    path = Path("tests", *module.parts[1:-1], f"test_{module.stem}.py")
    return str(path) if (MUTANTS / path).is_file() else None


def tests_for(name: str, stats: dict) -> tuple[list[str], str]:
    """The tests mutmut saw reach the mutant's function, plus its module's own test module when
    none of those is in it (the two-process tests, which mutmut's stats run leaves out)."""
    module = module_path(name)
    mapped = sorted(stats["tests_by_mangled_function_name"].get(name.partition("__mutmut_")[0], []))
    mapped = [t for t in mapped if not t.startswith("tests/test_deploy.py")]
    if not mapped:
        return fallback_tests(module, function_name(name)), "module"
    own = mirror(module)
    if own and not any(t.startswith(own + "::") for t in mapped):
        return mapped + [own], "stats + module"
    return mapped, "stats"


def run_one(name: str, stats: dict, limit_s: float, show: bool = False) -> dict:
    tests, route = tests_for(name, stats)
    if not tests:
        return {"name": name, "status": "no tests", "route": route}
    seconds = sum(stats["duration_by_test"].get(t, 0.0) for t in tests)
    timeout = max(limit_s, 3 * seconds + 60)
    env = dict(os.environ, MUTANT_UNDER_TEST=name)
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    start = time.monotonic()
    try:
        done = subprocess.run(cmd, cwd=MUTANTS, env=env, capture_output=True, text=True, timeout=timeout)
        code, out = done.returncode, done.stdout
    except subprocess.TimeoutExpired:
        code, out = None, ""
    if show:
        print(out[-3000:], done.stderr[-2000:] if code is not None else "(timed out)")
    failed = [ln.split(" ", 1)[1].split(" - ")[0] for ln in out.splitlines() if ln.startswith(("FAILED tests/", "ERROR tests/"))]
    summary = re.search(r"^=* ?(\d+ (failed|passed|error).*) in [\d.]+s", out, re.M)
    if code not in (0, 1, None) and summary:         # a crash after the tests ended: their verdict counts
        code = 1 if re.search(r"\d+ (failed|error)", summary.group(1)) else 0
    status = {0: "survived", 1: "killed"}.get(code, "timeout" if code is None else f"error {code}")
    return {"name": name, "status": status, "route": route, "tests": len(tests), "failed": failed[:1],
            "seconds": round(time.monotonic() - start, 1)}


# What a mutant that survived its tests (or timed out) is, read by hand. Detected: killed by a test
# written from it, or by an existing test the map missed (each seen failing with the mutant on).
# Equivalent mutants are left out of the score; the others count as missed.
VERDICTS = {"new test": True, "existing test": True, "equivalent": None, "not worth a test": False,
            "needs a gpu": False, "missed": False}


def tally(log: str, verdicts_file: str | None = None) -> str:
    results = {}
    for line in Path(log).read_text().splitlines():
        if line:
            r = json.loads(line)
            results[r["name"]] = r
    verdicts = {}
    if verdicts_file and Path(verdicts_file).is_file():
        for line in Path(verdicts_file).read_text().splitlines():
            if line:
                v = json.loads(line)
                verdicts[v["name"]] = v["verdict"]
    by_status: dict[str, int] = {}
    by_verdict: dict[str, int] = {}
    detected = counted = 0
    unread = []
    for name, r in results.items():
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
        if r["status"] == "killed":
            detected, counted = detected + 1, counted + 1
            continue
        kind = verdicts.get(name)
        if kind is None:
            unread.append(name)
            continue
        by_verdict[kind] = by_verdict.get(kind, 0) + 1
        if VERDICTS[kind] is not None:
            counted += 1
            detected += VERDICTS[kind]
    low, high = wilson(detected, counted)
    lines = [f"{len(results)} mutants: {by_status}", f"read by hand: {by_verdict}",
             f"detected {detected} of {counted} non-equivalent = {detected / max(1, counted):.1%} "
             f"(Wilson 95 %: {low:.1%}-{high:.1%})"]
    if unread:
        lines.append(f"{len(unread)} not yet read: " + " ".join(unread))
    return "\n".join(lines)


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare")
    draw = sub.add_parser("draw")
    draw.add_argument("--seed", type=int, required=True)
    draw.add_argument("--count", type=int, required=True)
    draw.add_argument("--exclude", nargs="*", default=[], help="modules left out (gan/engine/losses.py ...)")
    run = sub.add_parser("run")
    run.add_argument("sample")
    run.add_argument("--log", required=True)
    run.add_argument("--limit", type=float, default=240.0, help="least seconds a mutant's tests may take")
    one = sub.add_parser("one", help="one mutant, with its tests' output")
    one.add_argument("name")
    verdict = sub.add_parser("verdict", help="record what a surviving mutant is, read by hand")
    verdict.add_argument("name")
    verdict.add_argument("kind")
    verdict.add_argument("why")
    verdict.add_argument("--file", required=True)
    counts = sub.add_parser("tally")
    counts.add_argument("log")
    counts.add_argument("--verdicts", help="the verdicts file of the survivors read by hand")
    args = parser.parse_args(argv)

    if args.command == "prepare":
        prepare()
    elif args.command == "draw":
        names = all_mutant_names(tuple(args.exclude))
        random.Random(args.seed).shuffle(names)
        print("\n".join(names[: args.count]))
    elif args.command == "run":
        stats = json.loads((MUTANTS / "mutmut-stats.json").read_text())
        done = set()
        if Path(args.log).is_file():
            done = {json.loads(line)["name"] for line in Path(args.log).read_text().splitlines() if line}
        for name in Path(args.sample).read_text().split():
            if name not in done:
                result = run_one(name, stats, args.limit)
                print(json.dumps(result), flush=True)
                with open(args.log, "a") as log:
                    log.write(json.dumps(result) + "\n")
    elif args.command == "one":
        print(json.dumps(run_one(args.name, json.loads((MUTANTS / "mutmut-stats.json").read_text()), 600, show=True)))
    elif args.command == "verdict":
        if args.kind not in VERDICTS:
            raise SystemExit(f"a verdict is one of {', '.join(VERDICTS)}")
        with open(args.file, "a") as f:
            f.write(json.dumps({"name": args.name, "verdict": args.kind, "why": args.why}) + "\n")
    else:
        print(tally(args.log, args.verdicts))


if __name__ == "__main__":
    main()
