"""How long a ``medkb`` command takes as a fresh process: start-up, imports and the work.

Each command runs as a new ``python -m medkb.cli`` process, once to warm the file cache
(not counted), then ``--repeats`` times; the figure is the median wall time. The knowledge
bases are the bundled demo, built once per embedder before timing.

    python bench/startup.py                          # this checkout's src/
    python bench/startup.py --src /tmp/old/src --label before --skip-minilm

``--src`` points the processes at another copy of the package (an older commit, say) so
before and after are measured on the same machine in the same minutes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import common

#: (label, embedder or None for no knowledge base, the arguments after ``medkb``)
COMMANDS: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("medkb --help", None, ("--help",)),
    ("medkb stats (static)", "static", ("stats",)),
    ("medkb query (static)", "static", ("query", "What are the warning signs of a stroke?")),
    ("medkb stats (minilm)", "minilm", ("stats",)),
    ("medkb query (minilm)", "minilm", ("query", "What are the warning signs of a stroke?")),
)


def environment(src: Path, cache_dir: Path) -> dict[str, str]:
    """The child processes' environment: ``src`` first on the path, the model cache set."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MEDKB_")}
    env["PYTHONPATH"] = str(src)
    env["MEDKB_CACHE_DIR"] = str(cache_dir)
    return env


def medkb(args: Sequence[str], env: dict[str, str]) -> float:
    """Seconds one ``python -m medkb.cli ARGS`` process takes, start to exit."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "medkb.cli", *args], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"medkb {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return seconds


def build_demo(home: Path, embedder: str, env: dict[str, str]) -> None:
    """The demo knowledge base in ``home``, built with ``embedder``."""
    medkb(["--home", str(home), "--embedder", embedder, "demo"], env)


def measure(
    args: Sequence[str], env: dict[str, str], *, repeats: int
) -> tuple[float, float, float]:
    """Median, min and max seconds over ``repeats`` runs after one warm-up run."""
    medkb(args, env)
    runs = [medkb(args, env) for _ in range(repeats)]
    return statistics.median(runs), min(runs), max(runs)


def run(options: argparse.Namespace) -> list[tuple[str, float, float, float]]:
    """Time every command; returns (label, median, min, max) rows."""
    env = environment(options.src.resolve(), options.cache_dir.expanduser())
    rows = []
    with tempfile.TemporaryDirectory(prefix="medkb-startup-") as tmp:
        homes: dict[str, Path] = {}
        for label, embedder, args in COMMANDS:
            if embedder == "minilm" and options.skip_minilm:
                continue
            prefix: list[str] = []
            if embedder is not None:
                if embedder not in homes:
                    homes[embedder] = Path(tmp) / embedder
                    common.log_line(f"building the demo KB with {embedder}")
                    build_demo(homes[embedder], embedder, env)
                prefix = ["--home", str(homes[embedder]), "--embedder", embedder]
            common.log_line(f"timing {label}")
            median, low, high = measure([*prefix, *args], env, repeats=options.repeats)
            rows.append((label, median, low, high))
            print(f"{label:<28} median {median:.2f} s (min {low:.2f}, max {high:.2f})")
    return rows


def section(options: argparse.Namespace, machine: common.Machine, rows: list) -> str:
    key = f"bench:startup:{options.label}"
    body = common.table(
        ("command (fresh process)", "median s", "min s", "max s"),
        [(label, f"{m:.2f}", f"{lo:.2f}", f"{hi:.2f}") for label, m, lo, hi in rows],
    )
    return (
        f"<!-- {key} -->\n## Start-up: one command per process ({options.label})\n\n"
        f"```bash\n{machine.command}\n```\n\n"
        f"Package under test: `{options.src}`. Each command is one fresh "
        f"`python -m medkb.cli` process on the demo knowledge base; one warm-up run (file "
        f"cache warm), then the median of {options.repeats}.\n\n"
        f"{common.machine_table(machine)}\n\n{body}\n\n{common.END_MARKER}\n"
    )


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", type=Path, default=common.ROOT / "src")
    parser.add_argument("--label", default="current", help="Names the docs section.")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-minilm", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="Print only.")
    common.add_common_options(parser)
    options = parser.parse_args(argv)
    machine = common.machine_info("startup.py", argv)
    rows = run(options)
    machine.load_end = os.getloadavg()
    if not options.no_write:
        common.write_section(
            options.output, f"bench:startup:{options.label}", section(options, machine, rows)
        )


if __name__ == "__main__":
    main(sys.argv[1:])
