#!/usr/bin/env bash
# Run Jilian WMS locally: the server on its embedded SQLite default (data in .wms-dev/), with a
# demo tenant whose users and credentials are printed, and wms-sandbox standing in for Amazon
# (the demo tenant is connected to a sandbox seller whose orders the server syncs and confirms),
# a Yamato account on the sandbox's carrier stand-in and its loopback label printer, and the
# desktop app logged in to the demo tenant as its supervisor, with orders ready to pack.
# Ctrl-C stops everything.
#
# Environment: WMS_LISTEN (default 127.0.0.1:8443), WMS_DATA_DIR (default .wms-dev),
# WMS_SANDBOX_LISTEN (default 127.0.0.1:8444), JILIAN_NO_APP=1 (server only).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -d "${HOME:-/root}/.cargo/bin" ]; then PATH="${HOME:-/root}/.cargo/bin:$PATH"; fi
if ! command -v cargo >/dev/null; then
	echo "cargo is required: install Rust from https://rustup.rs" >&2
	exit 1
fi
# System packages: the build toolchain, and what Tauri needs on Debian/Ubuntu (WebKitGTK).
want_app=1
[ "${JILIAN_NO_APP:-}" = 1 ] && want_app=0
pkgs=(build-essential pkg-config ca-certificates curl openssl)
[ "$want_app" = 1 ] && pkgs+=(libwebkit2gtk-4.1-dev libdbus-1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev file fonts-ipafont-gothic)
missing=()
if command -v dpkg >/dev/null; then
	for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
fi
if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		apt-get -o DPkg::Lock::Timeout=600 update
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
	else
		echo "missing packages: ${missing[*]} (install them with apt-get, as root)" >&2
		exit 1
	fi
elif ! command -v dpkg >/dev/null; then
	echo "not Debian/Ubuntu: install a C toolchain, pkg-config, curl, openssl and Tauri's prerequisites" >&2
	echo "(https://v2.tauri.app/start/prerequisites/: WebKitGTK 4.1 on Linux, Xcode tools on macOS, WebView2 on Windows)" >&2
fi
if [ "$want_app" = 1 ] && ! command -v npm >/dev/null; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends nodejs npm
	else
		echo "Node.js 20+ and npm are needed to build the desktop app's UI" >&2
		exit 1
	fi
fi

export WMS_DATA_DIR="${WMS_DATA_DIR:-$PWD/.wms-dev}"
export WMS_LISTEN="${WMS_LISTEN:-127.0.0.1:8443}"
if [ "$want_app" = 1 ]; then
	(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build)
	cargo build -p wms-server --bin wms-server -p wms-sandbox --bin wms-sandbox -p wms-client --bin wms-station -p jilian-desktop --bin jilian-desktop
else
	cargo build -p wms-server --bin wms-server -p wms-sandbox --bin wms-sandbox
fi
bin=target/debug/wms-server

"$bin" migrate >/dev/null
seed_json="$WMS_DATA_DIR/demo-users.json"
mkdir -p "$WMS_DATA_DIR"
(umask 077 && "$bin" demo seed --tenant demo --json >"$seed_json")
json_field() { grep -o "\"$1\":\"[^\"]*\"" "$seed_json" | sed -n "${2:-1}p" | cut -d'"' -f4; }
demo_password=$(json_field password)
supervisor_seed=$(json_field totp_secret 1)
admin_seed=$(json_field totp_secret 2)

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
# The sandbox's Yamato stand-in knows the demo customer; its orders come in and go to the bench.
sandbox -X POST "$control/carriers/customers" -d '{"carrier":"yamato","customerCode":"0312345678","apiKey":"demo-yamato-api-key"}' >/dev/null || true
released=$("$bin" demo release --tenant demo)
ready=$(printf '%s' "$released" | grep -o '"picking":\[[^]]*\]' | grep -o '"[0-9a-f-]\{20,\}"' | tr -d '"' | head -5 | tr '\n' ' ')

"$bin" serve &
server_pid=$!
trap 'kill "$server_pid" "$sandbox_pid" 2>/dev/null || true' EXIT
api="https://$WMS_LISTEN"
for _ in $(seq 1 100); do
	curl -skf "$api/healthz" >/dev/null 2>&1 && break
	kill -0 "$server_pid" 2>/dev/null || exit 1
	sleep 0.2
done
fingerprint=$(openssl x509 -in "$WMS_DATA_DIR/tls/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)

# The admin connects the tenant's Yamato account (a high-risk action: TOTP step-up at login).
token=$(curl -sk "$api/api/v1/auth/login" -H 'content-type: application/json' \
	-d "{\"tenant\":\"demo\",\"email\":\"admin@demo.example\",\"password\":\"$demo_password\",\"totp\":\"$("$bin" demo totp --secret "$admin_seed")\"}" |
	grep -o '"access_token":"[^"]*"' | cut -d'"' -f4)
curl -sk "$api/api/v1/carriers/accounts" -H "authorization: Bearer $token" -H 'content-type: application/json' \
	-d "{\"carrier\":\"yamato\",\"mode\":\"api\",\"base_url\":\"$(field yamato)\",\"customer_code\":\"0312345678\",\"api_key\":\"demo-yamato-api-key\",\"sender\":{\"name\":\"ジリアン物流 東京第一倉庫\",\"postal_code\":\"135-0061\",\"address_lines\":[\"東京都江東区豊洲3-3-3\"],\"phone\":\"03-1234-5678\"}}" >/dev/null || true

if [ "$want_app" = 1 ]; then
	# The desktop station: logged in as the demo supervisor (TOTP from the seed), the sandbox's
	# loopback printer as its label printer, Japanese interface.
	desk_dir="$WMS_DATA_DIR/desk"
	rm -rf "$desk_dir"
	mkdir -p "$desk_dir"
	printf '{"locale":"ja","profile":{"labelPrinter":"%s","labelFormat":"zpl203"}}\n' "$(field printer)" >"$desk_dir/desk.json"
	printf '%s' "$demo_password" | target/debug/wms-station --data "$desk_dir" login --server "$api" \
		--fingerprint "$fingerprint" --tenant demo --email supervisor@demo.example --password-stdin \
		--totp "$("$bin" demo totp --secret "$supervisor_seed")" >/dev/null
	if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
		JILIAN_DATA_DIR="$desk_dir" target/debug/jilian-desktop &
		app_pid=$!
		trap 'kill "$app_pid" "$server_pid" "$sandbox_pid" 2>/dev/null || true' EXIT
	else
		echo "No display (DISPLAY / WAYLAND_DISPLAY unset): start the app yourself with" >&2
		echo "  JILIAN_DATA_DIR=$desk_dir target/debug/jilian-desktop" >&2
	fi
fi
cat <<MSG

Demo tenant "demo" is ready; the server runs on $api (TLS fingerprint $fingerprint).
  The desktop app is logged in as supervisor@demo.example. Orders ready to pack (type one and
    press Enter, as a scanner would): $ready
    then each item's SKU as shown (JP-00001…), weigh, book, print (to the sandbox printer) and
    type the label's tracking number to dispatch; Amazon's confirmation follows within seconds.
  Users packer@, supervisor@, admin@demo.example: password and TOTP seeds in $seed_json;
    a current TOTP code: $bin demo totp --secret <seed>
  API reference: https://$WMS_LISTEN/api/v1/openapi.json
  Amazon (sandbox): seller $seller with new orders; the server syncs them every
    ${WMS_AMAZON_SYNC_INTERVAL_SECS}s and confirms each dispatched package there. What the sandbox received:
    curl -s --cacert $ca $control/amazon/confirmations
MSG
wait "$server_pid"
