#!/usr/bin/env bash
# Installs what the extension's integration and UI tests need (docs/testing.md "The real VS Code host"):
# Debian chromium + libkrb5-dev + ripgrep (+ unzip), and code-server@4.100.3 into .vscode-test/code-server/ (gitignored,
# kept out of package.json so `npm ci` never rebuilds its native modules). Idempotent: skips what is there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CS_DIR="$ROOT/.vscode-test/code-server"
CS_VERSION="4.100.3"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
command -v unzip >/dev/null 2>&1 || need_apt+=(unzip)   # the VSIX content check lists the package
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-test-host: apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

installed_version() {
  node -e 'try{console.log(require(process.argv[1]).version)}catch{console.log("")}' \
    "$CS_DIR/node_modules/code-server/package.json"
}
if [ -x "$CS_DIR/node_modules/.bin/code-server" ] && [ "$(installed_version)" = "$CS_VERSION" ] \
   && [ -f "$CS_DIR/node_modules/code-server/lib/vscode/out/server-main.js" ]; then
  echo "install-test-host: code-server $CS_VERSION already in $CS_DIR"
  exit 0
fi

# vscode-ripgrep's postinstall downloads a release asset (unreachable here): seed its cache from Debian's rg.
RG_CACHE="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
mkdir -p "$RG_CACHE"
RG_TAR="$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
[ -s "$RG_TAR" ] || tar czf "$RG_TAR" -C "$(dirname "$(command -v rg)")" rg

mkdir -p "$CS_DIR"
cd "$CS_DIR"
[ -f package.json ] || echo '{ "name": "flowloop-test-host", "private": true }' > package.json
echo "install-test-host: npm install code-server@$CS_VERSION into $CS_DIR (about a minute)"
# npm_config_yes: node-pty runs `npx node-gyp`; --unsafe-perm: CI runs as root.
npm_config_yes=true ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --unsafe-perm "code-server@$CS_VERSION"
"$CS_DIR/node_modules/.bin/code-server" --version
