"""How long a ``medkb`` command takes as a fresh process: start-up, imports and the work.

Each command runs as a new ``python -m medkb.cli`` process, once to warm the file cache
(not counted), then ``--repeats`` times; the figure is the median wall time. The knowledge
bases are the bundled demo, built once per embedder and package before timing.

``--src LABEL=PATH`` (repeatable) points the processes at copies of the package (say the
commit before a change and this checkout); their runs are interleaved, so that on a shared
machine both see the same load.

    python bench/startup.py                                    # this checkout's src/
    python bench/startup.py --src before=/tmp/old/src --src after=src --skip-minilm
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


def sources(options: argparse.Namespace) -> dict[str, Path]:
    """The packages under test by label."""
    given = options.src or [f"current={common.ROOT / 'src'}"]
    return {label: Path(path).resolve() for label, _, path in (s.partition("=") for s in given)}


def run(options: argparse.Namespace, tmp: Path) -> list[tuple[str, dict[str, list[float]]]]:
    """Time every command under every package; returns (label, runs by package) rows."""
    envs = {
        name: environment(src, options.cache_dir.expanduser())
        for name, src in sources(options).items()
    }
    rows = []
    for label, embedder, args in COMMANDS:
        if embedder == "minilm" and options.skip_minilm:
            continue
        argvs = {}
        for name, env in envs.items():
            prefix: list[str] = []
            if embedder is not None:
                home = tmp / f"{name}-{embedder}"
                if not home.exists():
                    common.log_line(f"building the demo KB with {embedder} ({name})")
                    medkb(["--home", str(home), "--embedder", embedder, "demo"], env)
                prefix = ["--home", str(home), "--embedder", embedder]
            argvs[name] = [*prefix, *args]
            medkb(argvs[name], env)  # warm the file cache
        common.log_line(f"timing {label}")
        runs: dict[str, list[float]] = {name: [] for name in envs}
        for _ in range(options.repeats):
            for name, env in envs.items():
                runs[name].append(medkb(argvs[name], env))
        medians = ", ".join(f"{n} {statistics.median(r):.2f} s" for n, r in runs.items())
        print(f"{label:<28} median {medians}", flush=True)
        rows.append((label, runs))
    return rows


def section(options: argparse.Namespace, machine: common.Machine, rows: list) -> str:
    names = list(sources(options))
    header = ["command (fresh process)"]
    for name in names:
        header += [f"{name}: median s", f"{name}: min–max s"]
    body = common.table(
        header,
        [
            [label]
            + [
                cell
                for name in names
                for cell in (
                    f"{statistics.median(runs[name]):.2f}",
                    f"{min(runs[name]):.2f}–{max(runs[name]):.2f}",
                )
            ]
            for label, runs in rows
        ],
    )
    where = ", ".join(f"{name} = `{path}`" for name, path in sources(options).items())
    return (
        f"<!-- bench:startup:{options.label} -->\n## Start-up: one command per process\n\n"
        f"```bash\n{machine.command}\n```\n\n"
        f"Packages: {where}. Each command is one fresh `python -m medkb.cli` process on the "
        f"demo knowledge base; one warm-up run per package (file cache warm), then "
        f"{options.repeats} runs, the packages interleaved; median and range.\n\n"
        f"{common.machine_table(machine)}\n\n{body}\n\n{common.END_MARKER}\n"
    )


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", action="append", help="LABEL=PATH of a package (repeatable).")
    parser.add_argument("--label", default="current", help="Names the docs section.")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-minilm", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="Print only.")
    common.add_common_options(parser)
    options = parser.parse_args(argv)
    machine = common.machine_info("startup.py", argv)
    with tempfile.TemporaryDirectory(prefix="medkb-startup-") as tmp:
        rows = run(options, Path(tmp))
    machine.load_end = os.getloadavg()
    if not options.no_write:
        common.write_section(
            options.output, f"bench:startup:{options.label}", section(options, machine, rows)
        )


if __name__ == "__main__":
    main(sys.argv[1:])
