"""The stack supervisor: starts every process in order, waits for each to be ready, restarts
what crashes (each after its own backoff, on a thread of its own, so one crash loop delays no
other restart), and stops everything in reverse order on SIGTERM or SIGINT.

It runs detached (``stack up`` launches it) and reports through ``.bank/run/status.json``.
"""

from __future__ import annotations

import getpass
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import FrameType

import psutil
from mirakuru import Executor
from mirakuru.exceptions import ProcessExitedWithError, TimeoutExpired

from kernel.settings import REPO_ROOT, Settings, settings
from stack import connector, database, pids, processes, status
from stack.readiness import port_in_use

log = logging.getLogger("stack.supervisor")

RESTART_BACKOFF_SECONDS = (1, 2, 5, 10, 30)
# A process that served this long before it died starts its backoff afresh: only a crash loop
# should wait 30 s, not the tenth unrelated crash in a week.
STABLE_SECONDS = 60
# Past its start timeout a process is given more time while it keeps writing its log (a broker
# restarted after kill -9 recovers every partition it holds, one log line each: minutes on two
# busy cores; killed then, it would start its recovery over, for ever). Silent this long, it is
# stuck; and no start may take longer than the cap.
START_SILENCE_SECONDS = 60
START_CAP_SECONDS = 1800


class StartFailed(RuntimeError):
    pass


class Stopping(Exception):
    """A stop was asked for while starting: what is started is stopped, the rest is not begun."""


class ProcessExecutor(Executor):
    """A mirakuru executor whose after-start check is the process's own readiness check."""

    def __init__(
        self, process: processes.Process, log_path: str, stopping: Callable[[], bool]
    ) -> None:
        self.definition = process
        self._stopping = stopping
        self._log_file = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives with the process
        super().__init__(
            process.command,
            cwd=str(REPO_ROOT),
            timeout=process.start_timeout,
            sleep=0.2,
            envvars=process.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def pre_start_check(self) -> bool:
        return False

    def check_timeout(self) -> bool:
        if super().check_timeout():
            return True
        return still_working(
            Path(self._log_file.name),
            started=self._endtime - self.definition.start_timeout,
            now=time.time(),
        )

    def after_start_check(self) -> bool:
        if self._stopping():
            raise Stopping
        return self.definition.ready()


def still_working(log_path: Path, started: float, now: float) -> bool:
    """Whether a process past its start timeout deserves more time: its log grew in the last
    START_SILENCE_SECONDS, and it has not been starting for START_CAP_SECONDS."""
    if now - started > START_CAP_SECONDS:
        return False
    try:
        last_write = log_path.stat().st_mtime
    except FileNotFoundError:
        return False
    return now - last_write < START_SILENCE_SECONDS


def exit_reason(code: int | None) -> str:
    """A process's return code in words: a negative one is the signal that ended it."""
    if code is None:
        return "ended, code unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _port_owner(port: int) -> str:
    for connection in psutil.net_connections(kind="tcp"):
        if connection.laddr and connection.laddr.port == port and connection.pid:
            try:
                return f"pid {connection.pid} ({psutil.Process(connection.pid).name()})"
            except psutil.NoSuchProcess:
                break
    return "another process"


class Supervisor:
    def __init__(self, config: Settings, database_only: bool = False) -> None:
        self.settings = config
        # Only MariaDB with the bank's accounts: what the database-only tests need (no Kafka).
        self.database_only = database_only
        self.os_user = getpass.getuser()
        self.executors: dict[str, ProcessExecutor] = {}
        # Set by the signal handler, read by every loop: a handler only sets a flag (raising
        # there would unwind whatever the main thread was in the middle of).
        self.stop_signal: int | None = None
        self._shutting_down = False
        self.crash_streaks: dict[str, int] = {}
        self.status = status.StackStatus(
            supervisor_pid=os.getpid(),
            supervisor_started=pids.start_time(os.getpid()),
            scope="database" if database_only else "all",
        )
        # The schema registry starts on a thread of its own, beside Connect.
        self._publishing = threading.Lock()
        for process in self._all_processes():
            self.status.components[process.name] = status.Component(
                name=process.name,
                description=process.description,
                ports=process.ports,
                log=str(self._log_path(process.name)),
            )

    def _all_processes(self) -> list[processes.Process]:
        if self.database_only:
            return [processes.mariadb(self.settings)]
        return processes.infrastructure(self.settings) + processes.applications(self.settings)

    def _log_path(self, name: str) -> str:
        return str(self.settings.path("logs", f"{name}.log"))

    @property
    def stopping(self) -> bool:
        return self.stop_signal is not None or self._shutting_down

    def request_stop(self, signum: int, _frame: FrameType | None = None) -> None:
        self.stop_signal = signum

    def _pause(self, seconds: float) -> bool:
        """Sleeps up to `seconds`, less when a stop is asked for; returns whether one was."""
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(0.2, left))
        return self.stopping

    def _publish(self, step: str | None = None) -> None:
        with self._publishing:
            if step is not None:
                self.status.step = step
                log.info("%s", step)
            status.write(self.settings, self.status)

    def _set_state(self, name: str, state: str, pid: int | None = None) -> None:
        with self._publishing:
            component = self.status.components[name]
            component.state, component.pid, component.since = state, pid, time.time()
            component.pid_started = pids.start_time(pid) if pid else None
        self._publish()

    # -- starting -------------------------------------------------------------------------------

    def start_process(self, process: processes.Process) -> None:
        if self.stopping:
            raise Stopping
        for port_name, port in process.ports.items():
            if port_in_use(self.settings.host, port):
                raise StartFailed(
                    f"{process.name}: port {port} ({port_name}) is taken by {_port_owner(port)}; "
                    f"stop it or set the port's BANK_*_PORT variable"
                )
        if process.prepare is not None:
            process.prepare()
        executor = ProcessExecutor(process, self._log_path(process.name), lambda: self.stopping)
        self.executors[process.name] = executor
        self._set_state(process.name, "starting")
        try:
            executor.start()
        except ProcessExitedWithError as error:
            self._set_state(process.name, "failed")
            raise StartFailed(
                f"{process.name} exited during start-up (code {error.exit_code}); "
                f"see {self._log_path(process.name)}"
            ) from error
        except TimeoutExpired as error:
            self._set_state(process.name, "failed")
            raise StartFailed(
                f"{process.name} was not ready after {process.start_timeout:.0f}s, and its log "
                f"was silent for {START_SILENCE_SECONDS}s "
                f"({getattr(process.ready, 'describe', lambda: 'readiness check')()}); "
                f"see {self._log_path(process.name)}"
            ) from error
        self._set_state(process.name, "ready", executor.process.pid if executor.process else None)

    def start_together(self, group: list[processes.Process]) -> None:
        """Starts each on a thread of its own and waits for all: the nodes of a Kafka cluster,
        none of which is ready before a majority of its controllers is up; the Connect workers
        of a group, which gain nothing by waiting for each other."""
        if len(group) == 1:
            self.start_process(group[0])
            return
        with ThreadPoolExecutor(len(group), thread_name_prefix="start") as pool:
            started = [pool.submit(self.start_process, process) for process in group]
            for future in started:
                future.result()  # raises what stopped the first that failed

    def run_task(self, step: str, task: Callable[[], None]) -> None:
        self._publish(step)
        if self.stopping:
            raise Stopping
        task()

    def _manage(self, *args: str) -> None:
        """Run a Django management command, its output into the system of record's log."""
        self._run_logged("sor", [sys.executable, "sor/manage.py", *args])

    def _run_logged(self, log_name: str, command: list[str]) -> None:
        with open(self._log_path(log_name), "a") as log_file:
            result = subprocess.run(
                command, cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT, check=False
            )
        if result.returncode != 0:
            raise StartFailed(
                f"`{' '.join(command[1:])}` failed (exit {result.returncode}); "
                f"see {self._log_path(log_name)}"
            )

    def start_all(self) -> None:
        infrastructure = {p.name: p for p in processes.infrastructure(self.settings)}
        self._publish("starting MariaDB")
        self.start_process(infrastructure["mariadb"])
        self.run_task(
            "creating the bank database and its users",
            lambda: database.ensure_accounts(self.settings, self.os_user),
        )
        if self.database_only:
            return
        nodes = processes.kafka_nodes(self.settings)
        self._publish(
            "starting Kafka (KRaft)" if len(nodes) == 1 else f"starting Kafka ({len(nodes)} nodes)"
        )
        self.start_together(nodes)
        # The registry (half a minute on two cores) is first needed by the worker: it starts
        # while Connect does, and the applications wait for it.
        background = ThreadPoolExecutor(1, thread_name_prefix="start-registry")
        try:
            registry = background.submit(self.start_process, infrastructure["registry"])
            self._publish("starting Kafka Connect and the schema registry")
            self.start_together(processes.connect_workers(self.settings))
            self._prepare_applications()
            self._publish("waiting for the schema registry")
            registry.result()  # raises what stopped it
        finally:
            background.shutdown(wait=False)  # a failure elsewhere stops it with the rest
        for process in processes.applications(self.settings):
            self._publish(f"starting {process.name}")
            self.start_process(process)

    def _prepare_applications(self) -> None:
        """The connector, the database's schema and the seed data."""

        def register_connector() -> None:
            name = connector.register(self.settings)
            connector.wait_until_running(self.settings, name)

        self.run_task("registering the Debezium connector and waiting for it", register_connector)
        self.run_task("migrating the database", lambda: self._manage("migrate", "--noinput"))
        self.run_task("collecting static files", lambda: self._manage("collectstatic", "--noinput"))
        self.run_task("ensuring the clerk's login", lambda: self._manage("ensure_clerk"))
        self.run_task(
            "ensuring the live-feed signing keys",
            lambda: self._manage("ensure_live_token_keys"),
        )
        self.run_task(
            "seeding demo data (populate-db.sh)",
            lambda: self._run_logged("sor", ["bash", str(REPO_ROOT / "populate-db.sh")]),
        )

    # -- watching and stopping ------------------------------------------------------------------

    def watch(self) -> None:
        """Restart a process that died, after a backoff of its own, until asked to stop. Each
        restart runs on a thread, so a crash loop's backoff (or a slow start) holds up no other."""
        definitions = {p.name: p for p in self._all_processes()}
        restarting: dict[str, Future[None]] = {}
        with ThreadPoolExecutor(len(definitions), thread_name_prefix="restart") as pool:
            while not self.stopping:
                for name, executor in list(self.executors.items()):
                    if name in restarting and not restarting[name].done():
                        continue
                    restarting.pop(name, None)
                    if self.stopping or executor.running():
                        continue
                    delay = self._count_exit(name, executor)
                    restarting[name] = pool.submit(self._restart, definitions[name], delay)
                self._pause(0.5)
            # Leaving the block waits for the restarts in flight: each sees the stop and ends.

    def _count_exit(self, name: str, executor: ProcessExecutor) -> float:
        """Records a process's exit; returns how long to wait before starting it again."""
        component = self.status.components[name]
        code = executor.process.returncode if executor.process else None
        component.restarts += 1
        component.last_exit, component.last_exit_at = exit_reason(code), time.time()
        served = time.time() - component.since if component.state == "ready" else 0.0
        streak = 1 if served >= STABLE_SECONDS else self.crash_streaks.get(name, 0) + 1
        self.crash_streaks[name] = streak
        delay = RESTART_BACKOFF_SECONDS[min(streak - 1, len(RESTART_BACKOFF_SECONDS) - 1)]
        log.warning("%s exited (code %s); restarting in %s s", name, code, delay)
        self._set_state(name, "restarting")
        return delay

    def _restart(self, process: processes.Process, delay: float) -> None:
        if self._pause(delay):
            return
        try:
            self.start_process(process)
        except StartFailed as error:
            log.error("%s", error)
        except Stopping:
            pass

    def stop_all(self) -> None:
        self._shutting_down = True
        self.status.phase = "stopping"
        self._publish("stopping")
        for group in self._stop_groups():
            with ThreadPoolExecutor(len(group), thread_name_prefix="stop") as pool:
                list(pool.map(self._stop_one, group))
        self.status.phase = "stopped"
        self._publish("stopped")

    def _stop_groups(self) -> list[list[str]]:
        """The processes in reverse start order, each alone, except the nodes of a Kafka
        cluster: stopped together, since a node shutting down cleanly asks the controller
        quorum to move its leaders, and the last one left alone would wait minutes for it."""
        nodes = {p.name for p in processes.kafka_nodes(self.settings)}
        groups: list[list[str]] = []
        for name in reversed(list(self.executors)):
            if name in nodes and groups and groups[-1][0] in nodes:
                groups[-1].append(name)
            else:
                groups.append([name])
        return groups

    def _stop_one(self, name: str) -> None:
        executor = self.executors[name]
        log.info("stopping %s", name)
        try:
            executor.stop()
        except Exception:  # a process that already died must not keep the others running
            log.exception("stopping %s failed; killing it", name)
            executor.kill()
        self._set_state(name, "stopped")

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        try:
            try:
                self.start_all()
            except Stopping:
                return 0
            except (StartFailed, connector.ConnectorFailed) as error:
                self.status.phase, self.status.error = "failed", str(error)
                self._publish(f"start-up failed: {error}")
                return 1
            except Exception as error:
                log.exception("start-up failed")
                self.status.phase, self.status.error = "failed", f"{type(error).__name__}: {error}"
                self._publish("start-up failed")
                return 1
            if self.stopping:
                return 0
            self.status.phase, self.status.ready_at = "ready", time.time()
            self._publish("ready")
            self.watch()
            return 0
        finally:
            if self.stop_signal is not None:
                log.info("received signal %s", signal.Signals(self.stop_signal).name)
            if self.status.phase == "failed":
                error = self.status.error
                self.stop_all()
                self.status.phase, self.status.error = "failed", error
                self._publish()
            else:
                self.stop_all()


def main() -> int:
    config = settings()
    config.path("logs").mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return Supervisor(config, database_only="--database-only" in sys.argv[1:]).run()


if __name__ == "__main__":
    sys.exit(main())
