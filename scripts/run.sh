#!/usr/bin/env bash
# Run Jilian WMS locally: the server on its embedded SQLite default (data in .wms-dev/), with a
# demo tenant whose users and credentials are printed, and wms-sandbox standing in for Amazon
# (the demo tenant is connected to a sandbox seller whose orders the server syncs and confirms).
# Ctrl-C stops both. The desktop app is not built yet (issue 7): use the API meanwhile.
#
# Environment: WMS_LISTEN (default 127.0.0.1:8443), WMS_DATA_DIR (default .wms-dev),
# WMS_SANDBOX_LISTEN (default 127.0.0.1:8444).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -d "${HOME:-/root}/.cargo/bin" ]; then PATH="${HOME:-/root}/.cargo/bin:$PATH"; fi
if ! command -v cargo >/dev/null; then
	echo "cargo is required: install Rust from https://rustup.rs" >&2
	exit 1
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null && { ! dpkg -s pkg-config >/dev/null 2>&1 || ! command -v curl >/dev/null; }; then
	apt-get -o DPkg::Lock::Timeout=600 update
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends build-essential pkg-config ca-certificates curl
fi

export WMS_DATA_DIR="${WMS_DATA_DIR:-$PWD/.wms-dev}"
export WMS_LISTEN="${WMS_LISTEN:-127.0.0.1:8443}"
cargo build -p wms-server --bin wms-server -p wms-sandbox --bin wms-sandbox
bin=target/debug/wms-server

"$bin" migrate >/dev/null
"$bin" demo seed --tenant demo

# The Amazon stand-in (state kept in the data directory across runs).
sandbox_dir="$WMS_DATA_DIR/sandbox"
mkdir -p "$sandbox_dir"
: >"$sandbox_dir/urls.json"
target/debug/wms-sandbox serve --listen "${WMS_SANDBOX_LISTEN:-127.0.0.1:8444}" --data "$sandbox_dir" \
	--search-lag-secs 0 >"$sandbox_dir/urls.json" 2>"$sandbox_dir/sandbox.log" &
sandbox_pid=$!
trap 'kill "$sandbox_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
	[ -s "$sandbox_dir/urls.json" ] && break
	kill -0 "$sandbox_pid" 2>/dev/null || { cat "$sandbox_dir/sandbox.log" >&2; exit 1; }
	sleep 0.1
done
field() { head -1 "$sandbox_dir/urls.json" | grep -o "\"$1\":\"[^\"]*\"" | cut -d'"' -f4; }
control=$(field control)
ca=$(field ca_cert)
export WMS_AMAZON_API_URL WMS_AMAZON_LWA_URL WMS_AMAZON_CA_CERT
WMS_AMAZON_API_URL=$(field amazon)
WMS_AMAZON_LWA_URL=$(field lwa_token_url)
WMS_AMAZON_CA_CERT=$ca
export WMS_AMAZON_SYNC_INTERVAL_SECS="${WMS_AMAZON_SYNC_INTERVAL_SECS:-20}"
seller=A1DEMOSELLERJP
# Demo credentials of the sandbox seller (not secrets: the sandbox is local).
export WMS_DEMO_LWA_CLIENT_SECRET=demo-lwa-client-secret WMS_DEMO_LWA_REFRESH_TOKEN='Atzr|demo-refresh-token'
sandbox() { curl -sf --cacert "$ca" -H 'content-type: application/json' "$@"; }
sandbox -X POST "$control/amazon/sellers" -d "{\"sellingPartnerId\":\"$seller\",\"clientId\":\"amzn1.application-oa2-client.demo\",\"clientSecret\":\"$WMS_DEMO_LWA_CLIENT_SECRET\",\"refreshToken\":\"$WMS_DEMO_LWA_REFRESH_TOKEN\",\"piiGranted\":true}" >/dev/null || true
sandbox -X POST "$control/amazon/sellers/$seller/orders/generate" \
	-d '{"count":10,"skus":["JP-00001","JP-00002","JP-00003","JP-00004","JP-00005"],"maxLines":2,"maxQuantity":2}' >/dev/null
"$bin" demo amazon --tenant demo --selling-partner-id "$seller" --lwa-client-id amzn1.application-oa2-client.demo --pii >/dev/null
cat <<MSG

Demo tenant "demo" is ready. The server starts below and logs its address and TLS fingerprint.
  Log in as the packer:
    curl -sk https://$WMS_LISTEN/api/v1/auth/login -H 'content-type: application/json' \\
      -d '{"tenant":"demo","email":"packer@demo.example","password":"<password above>"}'
  Supervisor and admin need a TOTP code: add the printed seed to an authenticator app, or
    $bin demo totp --secret <seed>
  API reference: https://$WMS_LISTEN/api/v1/openapi.json
  Amazon (sandbox): seller $seller with new orders; the server syncs them every
    ${WMS_AMAZON_SYNC_INTERVAL_SECS}s and confirms each dispatched package there. What the sandbox received:
    curl -s --cacert $ca $control/amazon/confirmations
MSG
"$bin" serve
