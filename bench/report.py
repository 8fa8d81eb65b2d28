"""What a benchmark run leaves behind: a JSON file with every figure, the settings and the
machine; a short Markdown summary; PNG plots; and tables on the terminal."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table as RichTable

from kernel.settings import REPO_ROOT, settings

RESULTS_DIR = REPO_ROOT / "bench" / "results"
PACKAGES = (
    "faust-streaming",
    "aiokafka",
    "confluent-kafka",
    "fastapi",
    "uvicorn",
    "websockets",
    "django",
    "mysqlclient",
)


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]


@dataclass
class Outcome:
    """One scenario's result."""

    scenario: str
    title: str
    settings: dict[str, Any]
    figures: dict[str, Any]
    tables: list[Table]
    notes: list[str] = field(default_factory=list)
    # label -> commit-to-receipt delays (ms), for the latency distribution plot
    latency_samples: dict[str, list[float]] = field(default_factory=dict)
    # (rate reached, p99 ms) per step, for the rate against p99 plot
    rate_points: list[tuple[float, float]] = field(default_factory=list)


def machine() -> dict[str, Any]:
    """The facts a figure depends on: CPUs, memory, load, versions of what ran."""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": os.getloadavg(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "jars": _jar_versions(),
        "mariadb": _command_output(["mariadbd", "--version"]),
        "git": _command_output(["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"]),
    }


def _cpu_model() -> str | None:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _jar_versions() -> dict[str, str]:
    """Kafka's and Debezium's versions, from the jar names the stack runs."""
    lib = settings().path("lib")
    found = {}
    for prefix in ("kafka_2.13-", "connect-runtime-", "debezium-connector-mariadb-"):
        jars = sorted(lib.rglob(f"{prefix}*.jar"))
        if jars:
            found[prefix.rstrip("-")] = jars[0].stem.removeprefix(prefix)
    return found


def _command_output(command: list[str]) -> str | None:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def write(outcome: Outcome, run_settings: dict[str, Any], facts: dict[str, Any]) -> list[Path]:
    """bench/results/<timestamp>-<scenario>.json, .md and .png files; returns their paths."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = RESULTS_DIR / f"{stamp}-{outcome.scenario}"
    plots = _plot(outcome, base)
    document = {
        "scenario": outcome.scenario,
        "title": outcome.title,
        "measured_at": stamp,
        "command": run_settings.get("command"),
        "run_settings": run_settings,
        "settings": outcome.settings,
        "machine": facts,
        "figures": outcome.figures,
        "tables": [asdict(t) for t in outcome.tables],
        "notes": outcome.notes,
        "plots": [p.name for p in plots],
    }
    json_path = base.with_suffix(".json")
    json_path.write_text(json.dumps(document, indent=2, default=str))
    markdown_path = base.with_suffix(".md")
    markdown_path.write_text(markdown(outcome, document))
    return [json_path, markdown_path, *plots]


def markdown(outcome: Outcome, document: dict[str, Any]) -> str:
    facts = document["machine"]
    lines = [
        f"# {outcome.title}",
        "",
        f"Measured {document['measured_at']} with `{document['command']}` on {facts['cpus']} "
        f"CPUs ({facts['cpu_model']}), {facts['ram_gib']} GiB, load average at start "
        f"{', '.join(f'{x:.2f}' for x in facts['load_average'])}; commit {facts['git']}.",
        "",
    ]
    for table in outcome.tables:
        lines += [f"## {table.title}", "", "| " + " | ".join(table.columns) + " |"]
        lines.append("|" + "---|" * len(table.columns))
        lines += ["| " + " | ".join(row) + " |" for row in table.rows]
        lines.append("")
    if outcome.notes:
        lines += ["## Notes", "", *[f"- {note}" for note in outcome.notes], ""]
    if document["plots"]:
        lines += [f"![{name}]({name})" for name in document["plots"]] + [""]
    return "\n".join(lines)


def show(outcome: Outcome, console: Console) -> None:
    for table in outcome.tables:
        rich_table = RichTable(title=f"{outcome.title}: {table.title}")
        for index, column in enumerate(table.columns):
            rich_table.add_column(column, justify="left" if index == 0 else "right")
        for row in table.rows:
            rich_table.add_row(*row)
        console.print(rich_table)
    for note in outcome.notes:
        console.print(f"[yellow]note:[/] {note}")


def _plot(outcome: Outcome, base: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    paths = []
    samples = {label: values for label, values in outcome.latency_samples.items() if values}
    if samples:
        figure, axes = pyplot.subplots(figsize=(8, 4.5))
        for label, values in samples.items():
            ordered = sorted(values)
            fraction = [(i + 1) / len(ordered) for i in range(len(ordered))]
            axes.plot(ordered, fraction, label=f"{label} (n={len(ordered)})")
        axes.set_xscale("log")
        axes.set_xlabel("delay, ms (log scale)")
        axes.set_ylabel("fraction of events received within")
        axes.set_title(f"{outcome.title}: latency distribution")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
        paths.append(_save(figure, base.with_name(base.name + "-latency.png"), pyplot))
    if outcome.rate_points:
        figure, axes = pyplot.subplots(figsize=(8, 4.5))
        rates, p99s = zip(*outcome.rate_points, strict=True)
        axes.plot(rates, p99s, marker="o")
        axes.axhline(500, color="red", linestyle="--", label="goal: p99 < 500 ms")
        axes.set_xlabel("changes per second booked")
        axes.set_ylabel("commit→receipt p99, ms")
        axes.set_yscale("log")
        axes.set_title(f"{outcome.title}: rate against p99")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
        paths.append(_save(figure, base.with_name(base.name + "-rate-p99.png"), pyplot))
    return paths


def _save(figure: Any, path: Path, pyplot: Any) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path


def latest(scenario: str) -> dict[str, Any] | None:
    """The newest result of a scenario in bench/results, if any."""
    paths = sorted(RESULTS_DIR.glob(f"*-{scenario}.json"))
    return json.loads(paths[-1].read_text()) if paths else None


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"
