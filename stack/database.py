"""MariaDB's data directory and the accounts the bank and Debezium use."""

from __future__ import annotations

import subprocess
from pathlib import Path

import MySQLdb
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from kernel.settings import DatabaseAdministration, DatabaseLogin, Settings


def mariadb_data_dir(settings: Settings) -> Path:
    return settings.path("data", "mariadb")


def mariadb_socket(settings: Settings) -> Path:
    return settings.path("run", "mariadb.sock")


def initialise_data_dir(settings: Settings, os_user: str) -> None:
    """Create the system tables once; the OS user gets a socket-authenticated admin account."""
    data_dir = mariadb_data_dir(settings)
    if (data_dir / "mysql").is_dir():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    settings.path("data", "binlog").mkdir(parents=True, exist_ok=True)
    settings.path("run").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={data_dir}",
            f"--user={os_user}",
            "--auth-root-authentication-method=socket",
            f"--auth-root-socket-user={os_user}",
            "--skip-test-db",
        ],
        check=True,
        capture_output=True,
    )


@retry(
    retry=retry_if_exception_type(MySQLdb.OperationalError),
    stop=stop_after_delay(30),
    wait=wait_fixed(0.5),
    reraise=True,
)
def _admin_connection(settings: Settings, os_user: str) -> MySQLdb.Connection:
    return MySQLdb.connect(unix_socket=str(mariadb_socket(settings)), user=os_user)


def ensure_accounts(settings: Settings, os_user: str) -> None:
    """Create the bank's database, its application user and Debezium's replication user.

    Idempotent; passwords are (re)set from the environment each time so rotating one is a restart.
    """
    db, app_user = settings.db_name, settings.db_user
    statements = [
        f"CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
    ]
    for host in ("127.0.0.1", "localhost"):
        statements += [
            f"CREATE USER IF NOT EXISTS '{app_user}'@'{host}'",
            f"ALTER USER '{app_user}'@'{host}' IDENTIFIED BY %(app_password)s",
            f"GRANT ALL PRIVILEGES ON `{db}`.* TO '{app_user}'@'{host}'",
            # pytest-django creates test_<name> databases for the system of record's tests.
            f"GRANT ALL PRIVILEGES ON `test\\_{db}%`.* TO '{app_user}'@'{host}'",
            f"CREATE USER IF NOT EXISTS 'debezium'@'{host}'",
            f"ALTER USER 'debezium'@'{host}' IDENTIFIED BY %(cdc_password)s",
            "GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, "
            f"BINLOG MONITOR ON *.* TO 'debezium'@'{host}'",
        ]
    params = {
        "app_password": DatabaseLogin.load().password,
        "cdc_password": DatabaseAdministration.load().cdc_password,
    }
    connection = _admin_connection(settings, os_user)
    try:
        cursor = connection.cursor()
        for statement in statements:
            cursor.execute(statement, params if "%(" in statement else None)
        connection.commit()
    finally:
        connection.close()
