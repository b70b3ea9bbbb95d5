#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for Jilian WMS tests.
#
#   scripts/pg-cluster.sh start DIR [PORT]   (default PORT 54329)
#   scripts/pg-cluster.sh stop DIR
#
# `start` initialises DIR on first use, starts the server listening on
# 127.0.0.1 only (unix socket in DIR), makes sure the test roles and database
# exist, and prints, as its last lines on stdout, shell `export` lines:
#
#   export WMS_TEST_PG_OWNER_URL=postgres://wms_owner:wms_owner@127.0.0.1:PORT/wms
#   export WMS_TEST_PG_APP_URL=postgres://wms_app:wms_app@127.0.0.1:PORT/wms
#
# so that `eval "$(scripts/pg-cluster.sh start DIR)"` works. Everything else
# goes to stderr. `start` on a running DIR only prints the exports again.
#
# Roles: wms_owner (LOGIN, CREATEDB, NOSUPERUSER, NOBYPASSRLS, owns database
# wms) and wms_app (LOGIN, NOCREATEDB, NOSUPERUSER, NOBYPASSRLS, owns nothing).
# TCP logins use scram-sha-256 from 127.0.0.1 only; the bootstrap superuser
# `postgres` can only connect over the unix socket (mode 0700).
#
# As root, initdb/postgres run as the `postgres` system user (created if
# missing). PostgreSQL binaries are taken from $PG_BINDIR if set, else the
# newest /usr/lib/postgresql/*/bin (the data dir's own version first), else
# from PATH. The settings (fsync=off etc.) are for tests only.
set -euo pipefail

readonly DEFAULT_PORT=54329
readonly PG_OS_USER=postgres

log() { printf 'pg-cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
	cat >&2 <<EOF
usage: $0 start DIR [PORT]   (default port $DEFAULT_PORT)
       $0 stop DIR
EOF
	exit 2
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as the user that owns the cluster: `postgres` when we are root,
# ourselves otherwise. Runs from / so an unreadable cwd (e.g. /root) is harmless.
as_pg() {
	if is_root; then
		if command -v runuser >/dev/null 2>&1; then
			(cd / && runuser -u "$PG_OS_USER" -- "$@")
		else
			(cd / && setpriv --reuid="$PG_OS_USER" --regid="$PG_OS_USER" --init-groups -- "$@")
		fi
	else
		(cd / && "$@")
	fi
}

ensure_pg_os_user() {
	is_root || return 0
	id -u "$PG_OS_USER" >/dev/null 2>&1 && return 0
	log "creating system user $PG_OS_USER"
	useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
		--shell /bin/sh "$PG_OS_USER"
}

# Sets BINDIR to a directory holding initdb, pg_ctl and postgres.
# $1: the PG_VERSION of an existing data dir, or empty.
find_bindir() {
	local want_version="$1" d cand
	if [ -n "${PG_BINDIR:-}" ]; then
		[ -x "$PG_BINDIR/initdb" ] || die "PG_BINDIR=$PG_BINDIR has no initdb"
		BINDIR=$PG_BINDIR
		return 0
	fi
	if [ -n "$want_version" ] && [ -x "/usr/lib/postgresql/$want_version/bin/postgres" ]; then
		BINDIR=/usr/lib/postgresql/$want_version/bin
		return 0
	fi
	cand=$(
		for d in /usr/lib/postgresql/*/bin /usr/pgsql-*/bin /usr/local/pgsql/bin; do
			[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && printf '%s\n' "$d"
		done | sort -V | tail -n 1
	) || true
	if [ -z "$cand" ] && command -v initdb >/dev/null 2>&1; then
		cand=$(dirname "$(readlink -f "$(command -v initdb)")")
		[ -x "$cand/pg_ctl" ] && [ -x "$cand/postgres" ] || cand=""
	fi
	[ -n "$cand" ] || die "no PostgreSQL server binaries found (install Debian's 'postgresql' package, or set PG_BINDIR)"
	BINDIR=$cand
}

find_psql() {
	if [ -x "$BINDIR/psql" ]; then
		PSQL=$BINDIR/psql
	elif command -v psql >/dev/null 2>&1; then
		PSQL=$(command -v psql)
	else
		die "psql not found (install Debian's 'postgresql-client' package)"
	fi
}

# Sets DIR (absolute) and ROOT, where the cluster really lives. ROOT is DIR
# unless the cluster's OS user can't reach DIR, or DIR is too long for a unix
# socket path (~107 bytes); then ROOT is a short directory under /tmp and DIR
# holds a `cluster-root` file pointing at it. $1: create DIR if missing (1/0).
resolve_root() {
	local create="$1" raw="$DIR_ARG"
	if [ ! -d "$raw" ]; then
		[ "$create" = 1 ] || return 1
		mkdir -p "$raw"
	fi
	DIR=$(cd "$raw" && pwd -P)
	if [ -f "$DIR/cluster-root" ]; then
		ROOT=$(cat "$DIR/cluster-root")
		[ "$create" = 1 ] && mkdir -p "$ROOT"
		[ -d "$ROOT" ] || return 1
		return 0
	fi
	ROOT=$DIR
	[ "$create" = 1 ] || return 0
	if [ -d "$DIR/data" ]; then
		return 0
	fi
	if is_root; then
		chown "$PG_OS_USER:" "$DIR"
	fi
	chmod 0700 "$DIR"
	if [ "${#DIR}" -gt 85 ] || ! as_pg test -w "$DIR" -a -x "$DIR"; then
		ROOT=/tmp/wms-pg-$(id -u)-$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
		log "$DIR is not usable for the cluster (path too long, or not reachable by user $PG_OS_USER); using $ROOT"
		if is_root; then
			chown "$(id -u):$(id -g)" "$DIR"
		fi
		mkdir -p "$ROOT"
		printf '%s\n' "$ROOT" >"$DIR/cluster-root"
	fi
	if is_root; then
		chown "$PG_OS_USER:" "$ROOT"
	fi
	chmod 0700 "$ROOT"
}

# Port the (initialised) cluster is configured for.
configured_port() {
	sed -n "s/^port = \([0-9]*\)$/\1/p" "$ROOT/data/wms-test.conf" 2>/dev/null | tail -n 1
}

# 0 if a postmaster for $ROOT/data is alive. Removes a stale postmaster.pid
# whose pid now belongs to another program (pg_ctl would believe it).
server_running() {
	local pidfile="$ROOT/data/postmaster.pid" pid comm
	[ -f "$pidfile" ] || return 1
	pid=$(head -n 1 "$pidfile")
	comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
	case "$comm" in
	postgres* | postmaster*) return 0 ;;
	esac
	log "removing stale $pidfile (pid $pid is not a postgres server)"
	rm -f "$pidfile"
	return 1
}

write_config() {
	local port="$1"
	as_pg tee "$ROOT/data/wms-test.conf" >/dev/null <<EOF
# Written by scripts/pg-cluster.sh on every start. Test settings only.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$ROOT'
unix_socket_permissions = 0700
max_connections = 300
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = 'scram-sha-256'
logging_collector = off
log_min_messages = warning
EOF
	as_pg tee "$ROOT/data/pg_hba.conf" >/dev/null <<'EOF'
# Written by scripts/pg-cluster.sh. TYPE DATABASE USER ADDRESS METHOD
# The socket (mode 0700) is reachable only by the cluster's OS user.
local all       all                    trust
host  all       postgres 127.0.0.1/32  reject
host  all       all      127.0.0.1/32  scram-sha-256
EOF
}

init_cluster() {
	log "initialising a new cluster in $ROOT/data with $BINDIR/initdb"
	as_pg "$BINDIR/initdb" --pgdata="$ROOT/data" --username=postgres \
		--auth-local=trust --auth-host=scram-sha-256 \
		--encoding=UTF8 --no-locale --no-sync >"$ROOT/initdb.log" 2>&1 ||
		{
			cat "$ROOT/initdb.log" >&2
			die "initdb failed"
		}
	printf "\ninclude_if_exists = 'wms-test.conf'\n" | as_pg tee -a "$ROOT/data/postgresql.conf" >/dev/null
}

start_server() {
	log "starting PostgreSQL ($BINDIR/postgres) on 127.0.0.1:$1, socket in $ROOT"
	if [ -f "$ROOT/postgres.log" ]; then
		as_pg mv -f "$ROOT/postgres.log" "$ROOT/postgres.log.prev"
	fi
	if ! as_pg "$BINDIR/pg_ctl" --pgdata="$ROOT/data" --log="$ROOT/postgres.log" \
		--wait --timeout=60 --silent start >&2; then
		tail -n 30 "$ROOT/postgres.log" >&2 || true
		die "PostgreSQL did not start (is port $1 in use? log: $ROOT/postgres.log)"
	fi
}

setup_roles() {
	local port="$1"
	as_pg "$PSQL" --no-psqlrc --quiet --set=ON_ERROR_STOP=1 \
		--host="$ROOT" --port="$port" --username=postgres --dbname=postgres >/dev/null <<'EOF'
SET client_min_messages = warning;
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wms_owner') THEN
    CREATE ROLE wms_owner;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wms_app') THEN
    CREATE ROLE wms_app;
  END IF;
END
$$;
SET password_encryption = 'scram-sha-256';
ALTER ROLE wms_owner LOGIN PASSWORD 'wms_owner' NOSUPERUSER NOBYPASSRLS CREATEDB NOCREATEROLE NOREPLICATION INHERIT;
ALTER ROLE wms_app LOGIN PASSWORD 'wms_app' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION INHERIT;
SELECT 'CREATE DATABASE wms OWNER wms_owner'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'wms') \gexec
ALTER DATABASE wms OWNER TO wms_owner;
-- The tests drop their per-test databases WITH (FORCE), ending the app role's pooled sessions.
GRANT pg_signal_backend TO wms_owner;
EOF
}

# Log in over TCP as both roles, as the clients under test will.
check_logins() {
	local port="$1" role
	for role in wms_owner wms_app; do
		PGPASSWORD=$role PGCONNECT_TIMEOUT=10 "$PSQL" --no-psqlrc --quiet --tuples-only \
			--host=127.0.0.1 --port="$port" --username="$role" --dbname=wms \
			--command='SELECT 1' >/dev/null ||
			die "could not log in as $role over TCP on 127.0.0.1:$port"
	done
}

print_env() {
	local port="$1"
	log "ready: 127.0.0.1:$port (data $ROOT/data, log $ROOT/postgres.log)"
	printf 'export WMS_TEST_PG_OWNER_URL=postgres://wms_owner:wms_owner@127.0.0.1:%s/wms\n' "$port"
	printf 'export WMS_TEST_PG_APP_URL=postgres://wms_app:wms_app@127.0.0.1:%s/wms\n' "$port"
}

cmd_start() {
	local port="$1" version="" running_port
	case "$port" in
	'' | *[!0-9]*) die "bad port: $port" ;;
	esac
	ensure_pg_os_user
	resolve_root 1
	[ -f "$ROOT/data/PG_VERSION" ] && version=$(cat "$ROOT/data/PG_VERSION")
	find_bindir "$version"
	find_psql

	if [ -n "$version" ] && server_running; then
		running_port=$(configured_port)
		[ -n "$running_port" ] || die "cluster in $ROOT/data is running but its port is unknown"
		if [ "$running_port" != "$port" ]; then
			log "already running on port $running_port (ignoring requested port $port)"
		fi
		print_env "$running_port"
		return 0
	fi

	[ -n "$version" ] || init_cluster
	write_config "$port"
	start_server "$port"
	setup_roles "$port"
	check_logins "$port"
	print_env "$port"
}

cmd_stop() {
	local version=""
	if ! resolve_root 0 || [ ! -f "$ROOT/data/PG_VERSION" ]; then
		log "no cluster in $DIR_ARG; nothing to stop"
		return 0
	fi
	if ! server_running; then
		log "cluster in $ROOT/data is not running"
		return 0
	fi
	version=$(cat "$ROOT/data/PG_VERSION")
	find_bindir "$version"
	log "stopping PostgreSQL in $ROOT/data"
	as_pg "$BINDIR/pg_ctl" --pgdata="$ROOT/data" --mode=fast --wait --timeout=60 --silent stop >&2
}

[ "$#" -ge 2 ] || usage
DIR_ARG=$2
case "$1" in
start)
	[ "$#" -le 3 ] || usage
	cmd_start "${3:-$DEFAULT_PORT}"
	;;
stop)
	[ "$#" -eq 2 ] || usage
	cmd_stop
	;;
*) usage ;;
esac
