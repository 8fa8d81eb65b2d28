# shellcheck shell=bash
# Sourced (not executed: keep this file non-executable) by the official MariaDB image's entrypoint
# on the first start of an empty data directory, so its docker_process_sql and
# docker_sql_escape_string_literal helpers are at hand. The image itself creates the `bank`
# database and user from MARIADB_DATABASE / MARIADB_USER / MARIADB_PASSWORD.
#
# Debezium's replication user, with the grants stack/database.py gives it on the local stack.
cdc_password="$(docker_sql_escape_string_literal "${BANK_CDC_DB_PASSWORD:?BANK_CDC_DB_PASSWORD must be set}")"
docker_process_sql <<-EOSQL
	CREATE USER IF NOT EXISTS 'debezium'@'%' IDENTIFIED BY '${cdc_password}';
	GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO 'debezium'@'%';
EOSQL
unset cdc_password
