#!/usr/bin/env bash
# Run Jilian WMS locally: the server on its embedded SQLite default (data in .wms-dev/), with a
# demo tenant whose users and credentials are printed. Ctrl-C stops it.
#
# Environment: WMS_LISTEN (default 127.0.0.1:8443), WMS_DATA_DIR (default .wms-dev).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -d "${HOME:-/root}/.cargo/bin" ]; then PATH="${HOME:-/root}/.cargo/bin:$PATH"; fi
if ! command -v cargo >/dev/null; then
	echo "cargo is required: install Rust from https://rustup.rs" >&2
	exit 1
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null && ! dpkg -s pkg-config >/dev/null 2>&1; then
	apt-get -o DPkg::Lock::Timeout=600 update
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends build-essential pkg-config ca-certificates
fi

export WMS_DATA_DIR="${WMS_DATA_DIR:-$PWD/.wms-dev}"
export WMS_LISTEN="${WMS_LISTEN:-127.0.0.1:8443}"
cargo build -p wms-server --bin wms-server
bin=target/debug/wms-server

"$bin" migrate >/dev/null
"$bin" demo seed --tenant demo
cat <<MSG

Demo tenant "demo" is ready. The server starts below and logs its address and TLS fingerprint.
  Log in as the packer:
    curl -sk https://$WMS_LISTEN/api/v1/auth/login -H 'content-type: application/json' \\
      -d '{"tenant":"demo","email":"packer@demo.example","password":"<password above>"}'
  Supervisor and admin need a TOTP code: add the printed seed to an authenticator app, or
    $bin demo totp --secret <seed>
  API reference: https://$WMS_LISTEN/api/v1/openapi.json
MSG
exec "$bin" serve
