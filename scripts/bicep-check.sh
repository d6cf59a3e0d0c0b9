#!/usr/bin/env bash
# Validates the Azure infrastructure: `bicep build` and `bicep lint` of infra/main.bicep (and so of every
# module it uses) with a pinned Bicep CLI taken from NuGet. Fails on a build error and on any lint warning
# or error. The compiled ARM template is kept at infra/bin/main.json (ignored by git) for the infra tests. Needs only the .NET SDK and a reachable NuGet feed; once the package is in the NuGet cache a
# re-run does not touch the network.
set -euo pipefail

BICEP_VERSION=0.49.2
BICEP_PACKAGE=azure.bicep.commandline.linux-x64 # NuGet: Azure.Bicep.CommandLine.linux-x64 (lower-cased on disk)

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/infra/tools"
main="$root/infra/main.bicep"
compiled="$root/infra/bin/main.json"
params="$root/infra/main.parameters.json"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

fail() { echo "bicep-check: FAIL: $*" >&2; exit 1; }

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *) fail "the pinned Bicep CLI package is for linux-x64; this is $(uname -s)/$(uname -m)" ;;
esac

bicep_in() { echo "$1/$BICEP_PACKAGE/$BICEP_VERSION/tools/bicep"; }

# Fast path: the package is already in the default (or NUGET_PACKAGES) global packages folder.
bicep=$(bicep_in "${NUGET_PACKAGES:-$HOME/.nuget/packages}")
if [[ ! -f "$bicep" ]]; then
  echo "bicep-check: restoring Bicep CLI $BICEP_VERSION from NuGet"
  # infra/tools has its own Directory.*.props stubs, so the repository's central package management
  # and analyzers do not apply to this download-only project.
  (cd "$tools" && dotnet restore BicepCli.proj --nologo --verbosity quiet) || fail "dotnet restore of $tools/BicepCli.proj"
  # A NuGet.config may move the global packages folder: ask NuGet where it is, from the same folder.
  packages=$(cd "$tools" && dotnet nuget locals global-packages --list | sed -n 's/^global-packages: *//p')
  bicep=$(bicep_in "${packages%/}")
  [[ -f "$bicep" ]] || fail "restore finished but $bicep is missing"
fi
# NuGet extracts the binary as rwxr--r--; make sure whoever runs this can execute it.
[[ -x "$bicep" ]] || chmod +x "$bicep" 2>/dev/null || true
[[ -x "$bicep" ]] || fail "$bicep is not executable"

version=$("$bicep" --version)
[[ "$version" == *"$BICEP_VERSION"* ]] || fail "expected Bicep $BICEP_VERSION, got: $version"
echo "bicep-check: $version"

# Parameters file: every parameter it sets must be declared in main.bicep (azd passes it as it is).
if [[ -f "$params" ]]; then
  while read -r name; do
    grep -Eq "^param $name( |$)" "$main" || fail "infra/main.parameters.json sets '$name', which infra/main.bicep does not declare"
  done < <(sed -n 's/^    "\([A-Za-z0-9_]*\)": *{.*/\1/p' "$params")
fi

# bicep build (non-zero exit on errors) and bicep lint (exit 1 on errors but 0 on warnings, so its output is
# checked too) run side by side: each compiles the whole template, which takes a few seconds.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$(dirname "$compiled")"
"$bicep" build "$main" --outfile "$compiled" 2>"$tmp/build" &
build_pid=$!
lint_rc=0
lint_out=$("$bicep" lint "$main" 2>&1) || lint_rc=$?
build_rc=0
wait "$build_pid" || build_rc=$?
build_out=$(<"$tmp/build")
if [[ $build_rc -ne 0 ]]; then
  echo "$build_out" >&2
  fail "bicep build infra/main.bicep (exit $build_rc)"
fi
if [[ $lint_rc -ne 0 ]] || grep -Eq ': (Error|Warning) ' <<<"$lint_out"$'\n'"$build_out"; then
  echo "${lint_out:-$build_out}" >&2
  fail "bicep lint infra/main.bicep reported problems (exit $lint_rc)"
fi
[[ -z "$lint_out" ]] || echo "$lint_out"

echo "bicep-check: OK: infra/main.bicep builds and lints clean"
