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

echo "==> dotnet build"
dotnet build MlopsFunctions.sln -c Release -nologo -clp:ErrorsOnly

echo "==> bicep build + lint"
scripts/bicep-check.sh

echo "==> dotnet test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test MlopsFunctions.sln -c Release --no-build --nologo --blame-hang-timeout 5m 2>&1 | tee "$log" || status=$?
# One plain closing line for CI, from the runner's summary.
summary=$(grep -E "(Passed|Failed)!" "$log" | tail -1 || true)
passed=$(sed -n 's/.*Passed: *\([0-9]*\).*/\1/p' <<<"$summary")
failed=$(sed -n 's/.*Failed: *\([0-9]*\),.*/\1/p' <<<"$summary")
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$status"
