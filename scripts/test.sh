#!/usr/bin/env bash
# Run every test: the UI's (npm, Playwright in Chromium), then the workspace's
# (`./scripts/test.sh [extra args for the test runner]`).
#
# Uses cargo-nextest when installed, else `cargo test`. PostgreSQL-backed
# tests read WMS_TEST_PG_OWNER_URL / WMS_TEST_PG_APP_URL. If neither is set
# and CI is not "true", a throwaway cluster is started in target/pg-test
# (port $WMS_TEST_PG_PORT, default 54329) via scripts/pg-cluster.sh and
# stopped again at exit. Exits with the test runner's exit code.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -d "${HOME:-/root}/.cargo/bin" ]; then
	PATH="${HOME:-/root}/.cargo/bin:$PATH"
	export PATH
fi

# Pass the database URLs on to the tests only if the caller set them.
if [ -n "${WMS_TEST_PG_OWNER_URL+set}" ]; then export WMS_TEST_PG_OWNER_URL; fi
if [ -n "${WMS_TEST_PG_APP_URL+set}" ]; then export WMS_TEST_PG_APP_URL; fi

if [ -z "${WMS_TEST_PG_OWNER_URL:-}" ] && [ -z "${WMS_TEST_PG_APP_URL:-}" ] &&
	[ "${CI:-}" != "true" ]; then
	pg_dir=target/pg-test
	trap 'bash scripts/pg-cluster.sh stop "$pg_dir" || true' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -p target
	pg_env=$(bash scripts/pg-cluster.sh start "$pg_dir" "${WMS_TEST_PG_PORT:-54329}")
	eval "$pg_env"
fi

# The web UI: built first (the desktop app embeds ui/dist at compile time), then its Playwright
# tests in Debian's Chromium against the built bundle with the Tauri IPC mocked.
ui_rc=0
(
	cd ui
	npm ci --no-audit --no-fund --loglevel=error
	npm test
) || ui_rc=$?

if cargo nextest --version >/dev/null 2>&1; then
	runner=(cargo nextest run --workspace --no-fail-fast)
else
	runner=(cargo test --workspace --no-fail-fast)
fi

echo "+ ${runner[*]} $*" >&2
rc=0
"${runner[@]}" "$@" || rc=$?
if [ "$ui_rc" -ne 0 ]; then
	echo "the UI tests failed (exit $ui_rc)" >&2
	[ "$rc" -ne 0 ] || rc=$ui_rc
fi
exit "$rc"
