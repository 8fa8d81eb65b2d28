"""What the stack's processes cost and hold: memory, CPU, Kafka connections, open-file limits,
the gateway's own metrics and the database's query counter."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families

from bench import bank_db
from bench.hops import cpu_percent
from kernel.settings import Settings
from stack import status

SAMPLE_SECONDS = 1.0


def component_pids(config: Settings) -> dict[str, int]:
    """Each running component's pid, from the supervisor's status file (`stack status`)."""
    current = status.read(config)
    if not current or current.get("phase") != "ready":
        raise RuntimeError("the stack is not up and ready; start it with `make up`")
    return {
        name: component["pid"]
        for name, component in current["components"].items()
        if component.get("pid") and component.get("state") == "ready"
    }


def _tree(pid: int) -> list[psutil.Process]:
    """The process and its descendants (gunicorn's workers, uvicorn under its wrapper)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _rss_and_cpu(pid: int) -> tuple[int, float]:
    """RSS of the live tree; CPU seconds of the live tree plus the children the root has
    already reaped (the load generator's worker processes end before the last sample)."""
    rss, cpu = 0, 0.0
    for process in _tree(pid):
        try:
            with process.oneshot():
                rss += process.memory_info().rss
                times = process.cpu_times()
                cpu += times.user + times.system
                if process.pid == pid:
                    cpu += times.children_user + times.children_system
        except psutil.NoSuchProcess:
            continue
    return rss, cpu


@dataclass
class _Series:
    rss: list[int] = field(default_factory=list)
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (wall, cpu seconds)


class Meter:
    """Samples the resident memory and CPU of named process trees every second, in a thread."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._series = {name: _Series() for name in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-meter", daemon=True)

    def __enter__(self) -> Meter:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self._sample()

    def _sample(self) -> None:
        for name, pid in self.pids.items():
            rss, cpu = _rss_and_cpu(pid)
            self._series[name].rss.append(rss)
            self._series[name].cpu.append((time.monotonic(), cpu))

    def figures(self) -> dict[str, dict[str, float]]:
        """Per name: mean and max RSS (MiB) and CPU (% of one core) over the whole span."""
        result = {}
        for name, series in self._series.items():
            (t0, c0), (t1, c1) = series.cpu[0], series.cpu[-1]
            result[name] = {
                "rss_mib_mean": sum(series.rss) / len(series.rss) / 2**20,
                "rss_mib_max": max(series.rss) / 2**20,
                "cpu_percent": cpu_percent(max(c1 - c0, 0.0), t1 - t0) if t1 > t0 else 0.0,
            }
        return result


def rss_mib(pid: int) -> float:
    return _rss_and_cpu(pid)[0] / 2**20


def kafka_connections(pid: int, kafka_port: int) -> int:
    """Established TCP connections from the process tree to the Kafka broker."""
    count = 0
    for process in _tree(pid):
        try:
            connections = process.net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            continue
        count += sum(
            1
            for c in connections
            if c.raddr and c.raddr.port == kafka_port and c.status == psutil.CONN_ESTABLISHED
        )
    return count


def open_files_limit(pid: int) -> tuple[int, int]:
    """(soft, hard) RLIMIT_NOFILE of a running process, from /proc/<pid>/limits."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise RuntimeError(f"no open-files limit in /proc/{pid}/limits")


def gateway_metrics(config: Settings) -> dict[str, float]:
    """The gateway's /metrics, each metric's samples summed over their labels."""
    text = httpx.get(f"{config.soe_url}/metrics", timeout=10).text
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


def db_questions(config: Settings) -> int:
    """MariaDB's count of statements received from clients since it started (all clients)."""
    connection = bank_db.connect(config)
    try:
        cursor = connection.cursor()
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Questions'")
        return int(cursor.fetchone()[1])
    finally:
        connection.close()


class QueryRate:
    """Statements per second the database received between enter and exit."""

    def __init__(self, config: Settings) -> None:
        self.config = config
        self.per_second = 0.0

    def __enter__(self) -> QueryRate:
        self._start = (time.monotonic(), db_questions(self.config))
        return self

    def __exit__(self, *_exc: object) -> None:
        t0, q0 = self._start
        q1 = db_questions(self.config)
        self.per_second = (q1 - q0) / (time.monotonic() - t0)


class CpuSampler:
    """The CPU seconds a process has used, sampled five times a second on a thread."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self._samples: list[tuple[float, float]] = []  # (epoch seconds, CPU seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-cpu", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()  # one after the last event, however soon it came

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            if not self._sample():
                return

    def _sample(self) -> bool:
        try:
            times = self._process.cpu_times()
        except psutil.NoSuchProcess:
            return False
        self._samples.append((time.time(), times.user + times.system))
        return True

    def between(self, start: float, end: float) -> float | None:
        """CPU seconds used from the last sample before `start` to the first after `end`."""
        before = [cpu for at, cpu in self._samples if at <= start]
        after = [cpu for at, cpu in self._samples if at >= end]
        if not before or not after:
            return None
        return after[0] - before[-1]
