#!/usr/bin/env bash
# HTTP predict under load: LocalHost (capture on and off) vs a bare ASP.NET Core minimal API serving the same model,
# with wrk at 1, 8 and 64 connections, plus a 1,000-row batch. Starts its own Azurite, LocalHost and bare API.
#   bench/wrk-predict.sh [seconds=10] [rounds=2] [clients=1,8,64]
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if ! command -v wrk >/dev/null; then
  echo "==> installing wrk (Debian package)"
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq wrk; else sudo apt-get update -qq && sudo apt-get install -y -qq wrk; fi
fi
if [ ! -x node_modules/.bin/azurite ]; then npm ci --no-audit --no-fund --loglevel=error; fi
dotnet build bench/MlopsFunctions.Benchmarks -c Release -nologo -clp:ErrorsOnly
dotnet bench/MlopsFunctions.Benchmarks/bin/Release/net10.0/MlopsFunctions.Benchmarks.dll wrk "$@"
