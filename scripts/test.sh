#!/usr/bin/env bash
# Runs every check of the repository on a fresh machine with only the .NET 10 SDK and Node.js:
# installs Azurite (npm ci), builds the solution, validates the Bicep, then runs all tests (unit, integration on
# Azurite, end to end through LocalHost). The test fixtures start their own Azurite and LocalHost on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

echo "==> npm ci (Azurite, storage client)"
if [ ! -x node_modules/.bin/azurite ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "==> Chromium (the dashboard's browser test drives the Debian chromium and chromium-driver packages)"
install_chromium() {
  # A fresh image may have no package lists yet: update once when the first try cannot find the packages.
  "$@" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 ||
    { "$@" apt-get update -qq && "$@" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }
}
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || [ ! -x "${CHROMEDRIVER_PATH:-/usr/bin/chromedriver}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    install_chromium || echo "Installing chromium and chromium-driver failed; the dashboard's browser test will fail." >&2
  elif command -v apt-get >/dev/null && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    install_chromium sudo -n || echo "Installing chromium and chromium-driver failed; the dashboard's browser test will fail." >&2
  else
    echo "Chromium is missing and this user cannot install it (not root, no password-less sudo). Run" >&2
    echo "  sudo apt-get install -y chromium chromium-driver" >&2
    echo "and then scripts/test.sh again; until then the dashboard's browser test fails with the same advice." >&2
  fi
fi

echo "==> dotnet build"
dotnet build MlopsFunctions.sln -c Release -nologo -clp:ErrorsOnly

echo "==> bicep build + lint"
scripts/bicep-check.sh

echo "==> dotnet test"
# Test artifacts (the dashboard's screenshots) land in TestResults/ and stay there after the run.
rm -rf TestResults/dashboard
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test MlopsFunctions.sln -c Release --no-build --nologo --blame-hang-timeout 5m 2>&1 | tee "$log" || status=$?
# One plain closing line for CI, from the runner's summary.
summary=$(grep -E "(Passed|Failed)!" "$log" | tail -1 || true)
passed=$(sed -n 's/.*Passed: *\([0-9]*\).*/\1/p' <<<"$summary")
failed=$(sed -n 's/.*Failed: *\([0-9]*\),.*/\1/p' <<<"$summary")
shots=$(ls TestResults/dashboard/*.png 2>/dev/null || true)
[ -z "$shots" ] || printf 'Dashboard screenshots:\n%s\n' "$(sed 's/^/  /' <<<"$shots")"
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$status"
