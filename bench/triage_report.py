"""``python bench/safety.py triage``: the triage tables of ``docs/safety.md``."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import triage_eval as te

from medkb.answer import learned
from medkb.embed.base import Embedder
from medkb.embed.registry import open_embedder

Writer = Callable[[str, str], None]


def add_parser(sub: Any) -> None:
    flags = sub.add_parser("triage", help="emergency triage: recall, false alarms, latency")
    flags.add_argument("--embedder", choices=["none", "static", "minilm"], default="static")
    flags.add_argument("--cache-dir", type=Path, default=Path("~/.cache/medkb-test"))
    flags.add_argument("--unseen", action="store_true", help="also the unseen and older lists")
    flags.add_argument("--errors", action="store_true", help="print every error")
    flags.add_argument("--write", action="store_true", help="update docs/safety.md")


def triage_command(args: argparse.Namespace, write: Writer, stamp: str) -> None:
    encoder = _encoder(args)
    rows = te.load(te.DEV)
    tune = [r for r in rows if te.half_of(r.text) == "tune"]
    report = [r for r in rows if te.half_of(r.text) == "report"]
    started = time.perf_counter()
    te.embed_rows(rows, encoder)
    embed_s = time.perf_counter() - started
    lines = [
        f"<!-- bench:safety:triage:{args.embedder} -->",
        f"### Triage, embedder `{args.embedder}`",
        "",
    ]
    lines += [stamp.format(command=f"python bench/safety.py triage --embedder {args.embedder}"), ""]
    match = te.settings_match(args.embedder, encoder)
    if encoder is not None:
        chosen = te.choose(tune, encoder)
        lines += [
            f"Semantic thresholds chosen on the tune half: flag {chosen['flag']}, boost "
            f"{chosen['boost']}, margin {chosen['margin']} (settings: "
            f"{_limits(match)}).",
            "",
        ]
    model = learned.shipped_model()
    lines += _ablation(report, match, model)
    te.run(report, match, model=model)
    lines += _category_table(report)
    lines += _errors(report, "report half")
    if args.unseen:
        lines += _extra_sets(encoder, match, model)
    lines += _latency(rows, encoder, match, model, embed_s)
    body = "\n".join([*lines, "<!-- /bench -->"])
    print(body)
    if args.write:
        write(f"bench:safety:triage:{args.embedder}", body)


def _encoder(args: argparse.Namespace) -> Embedder | None:
    if args.embedder == "none":
        return None
    return open_embedder(args.embedder, cache_dir=args.cache_dir.expanduser(), device="cpu")


def _limits(match: Any) -> str:
    if match is None:
        return "none"
    return f"flag {match.flag}, boost {match.boost}, margin {match.margin}"


def _ablation(report: list[te.Row], match: Any, model: learned.Model) -> list[str]:
    lines = [
        "| evidence used (report half) | emergency recall | false alarms on look-alikes "
        "| category agrees |",
        "|---|---|---|---|",
    ]
    steps: list[tuple[str, Any, bool, learned.Model | None]] = [
        ("cues", None, False, None),
        ("cues + numbers", None, True, None),
    ]
    if match is not None:
        steps.append(("cues + numbers + semantic", match, True, None))
    steps.append(("cues + numbers + semantic + learned model (as shipped)", match, True, model))
    for name, step_match, numbers, step_model in steps:
        te.run(report, step_match, numbers=numbers, model=step_model)
        got = te.scores(report)
        lines.append(
            f"| {name} | {got['recall']:.3f} ({got['emergencies'] - len(got['missed'])}/"
            f"{got['emergencies']}) | {got['false_alarms']:.3f} ({len(got['alarms'])}/"
            f"{got['lookalikes']}) | {got['agree']:.2f} |"
        )
    return [*lines, ""]


def _category_table(report: list[te.Row]) -> list[str]:
    lines = [
        "| category | emergencies | caught | recall | look-alikes | false alarms |",
        "|---|---|---|---|---|---|",
    ]
    for category, em, caught, look, alarms in te.per_category(report):
        recall = f"{caught / em:.2f}" if em else "-"
        lines.append(f"| {category} | {em} | {caught} | {recall} | {look} | {alarms} |")
    return [*lines, ""]


def _errors(rows: Sequence[te.Row], name: str) -> list[str]:
    got = te.scores(rows)
    lines = [f"Errors on the {name}:", ""]
    for row in got["missed"]:
        lines.append(f"- missed [{row.category}] {row.text}")
    for row in got["alarms"]:
        assert row.found is not None
        lines.append(
            f"- false alarm [{row.category} look-alike → {row.found.category}: "
            f'"{row.found.cue}"] {row.text}'
        )
    for row in got["wrong_category"]:
        assert row.found is not None
        if row.category == "mixed":
            continue
        lines.append(f"- caught as {row.found.category}, labelled {row.category}: {row.text}")
    if len(lines) == 2:
        lines.append("- none")
    return [*lines, ""]


def _extra_sets(encoder: Embedder | None, match: Any, model: learned.Model) -> list[str]:
    lines = [
        "| set | emergencies | recall | look-alikes | false alarms | category agrees |",
        "|---|---|---|---|---|---|",
    ]
    errors: list[str] = []
    sets = (
        ("blind set h", te.BLIND_H),
        ("blind set g", te.BLIND_G),
        ("blind set f", te.BLIND_F),
        ("blind set e", te.BLIND_E),
        ("blind set d", te.BLIND_D),
        ("blind set c", te.BLIND_C),
        ("blind set b", te.BLIND_B),
        ("blind set a", te.BLIND_A),
        ("fifth held-out set (last)", te.LAST),
        ("fourth held-out set (final)", te.FINAL),
        ("third held-out set (fresh)", te.FRESH),
        ("second held-out set", te.HOLDOUT),
        ("unseen (relatives' texts)", te.UNSEEN),
        ("red_flags.jsonl", te.OLD),
    )
    for name, path in sets:
        rows = te.load(path)
        te.embed_rows(rows, encoder)
        te.run(rows, match, model=model)
        got = te.scores(rows)
        lines.append(
            f"| {name} | {got['emergencies']} | {got['recall']:.3f} | {got['lookalikes']} | "
            f"{got['false_alarms']:.3f} | {_agree(rows, got)} |"
        )
        errors += _errors(rows, name)
    return [*lines, "", *errors]


def _agree(rows: Sequence[te.Row], got: dict[str, Any]) -> str:
    if all(row.category == "mixed" for row in rows):
        return "- (not labelled)"
    return f"{got['agree']:.2f}"


def _latency(
    rows: list[te.Row],
    encoder: Embedder | None,
    match: Any,
    model: learned.Model,
    embed_s: float,
) -> list[str]:
    lines = [
        f"Triage time per message over the {len(rows)} messages (3 rounds; 1 when triage "
        "embeds), ms, wall clock and CPU time of this process (the machine is shared: see "
        "the load average above):",
        "",
        "| path | mean | p50 | p95 | max | CPU time mean | CPU time p95 |",
        "|---|---|---|---|---|---|---|",
    ]
    paths: list[tuple[str, Any, bool, learned.Model | None]] = [
        ("cues + numbers", None, True, None),
        ("cues + numbers + learned model", None, True, model),
    ]
    if match is not None:
        paths += [("all steps, query vector reused (query path)", match, True, model)]
        paths += [("all steps, triage embeds the message", match, False, model)]
    te.run(rows[:5], match, model=model)  # build the prototype index outside the timing
    for name, step_match, reuse, step_model in paths:
        got = te.latency(rows, step_match, reuse=reuse, repeat=3 if reuse else 1, model=step_model)
        lines.append(
            f"| {name} | {got['mean']:.3f} | {got['p50']:.3f} | {got['p95']:.3f} | "
            f"{got['max']:.3f} | {got['cpu_mean']:.3f} | {got['cpu_p95']:.3f} |"
        )
    if encoder is not None:
        lines += ["", f"(Embedding the {len(rows)} messages in one batch took {embed_s:.1f} s.)"]
    return [*lines, ""]
