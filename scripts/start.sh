#!/usr/bin/env bash
# Installs what MlopsFunctions needs, starts Azurite and LocalHost, defines the sample models and uploads their
# data, waits until each model is in production, then keeps running until Ctrl+C (which stops everything).
#   PORT=7071 scripts/start.sh          # API port (default 7071)
#   MLOPS_DATA=.localdata scripts/start.sh   # where Azurite keeps its data (kept between runs)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
port=${PORT:-7071}
data=${MLOPS_DATA:-$root/.localdata}

command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required (dotnet not found)." >&2; exit 1; }
command -v node >/dev/null || { echo "Node.js and npm are required (node not found)." >&2; exit 1; }

echo "==> Installing dev tools (npm ci) and building (dotnet build)"
[ -x node_modules/.bin/azurite ] || npm ci --no-audit --no-fund --loglevel=error
dotnet build functions/MlopsFunctions.LocalHost -c Release -nologo -v quiet -clp:ErrorsOnly

free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
port_free() { node -e "const s=require('net').createServer();s.once('error',()=>process.exit(1));s.listen($1,'127.0.0.1',()=>s.close())"; }
pick() { if port_free "$1"; then echo "$1"; else free_port; fi; }
blob_port=$(pick 10000); queue_port=$(pick 10001); table_port=$(pick 10002)
port_free "$port" || { echo "Port $port is in use: stop what uses it or run PORT=<other> scripts/start.sh" >&2; exit 1; }

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "==> Stopping LocalHost and Azurite"
  # LocalHost first (it needs storage to stop cleanly), then Azurite.
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  echo "Stopped."
}
trap cleanup INT TERM EXIT

mkdir -p "$data/azurite"
echo "==> Starting Azurite (blob $blob_port, queue $queue_port, table $table_port; data in $data/azurite)"
node_modules/.bin/azurite --silent --skipApiVersionCheck --disableTelemetry --location "$data/azurite" \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
  --blobPort "$blob_port" --queuePort "$queue_port" --tablePort "$table_port" &
pids+=($!)

account_key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
export AzureWebJobsStorage="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$account_key;BlobEndpoint=http://127.0.0.1:$blob_port/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$queue_port/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table_port/devstoreaccount1;"
export TaskHubName=${TaskHubName:-MlopsHub}

# The admin (master) key: random, made once per data folder and kept beside the data it guards (mode 600), so clients
# keep working across restarts and no two installs share a well-known key. LocalHost__MasterKey from the environment wins.
if [ -z "${LocalHost__MasterKey:-}" ]; then
  keyfile="$data/master.key"
  if [ ! -s "$keyfile" ]; then
    (umask 077; node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))' >"$keyfile")
  fi
  LocalHost__MasterKey=$(<"$keyfile")
fi
export LocalHost__MasterKey
key=$LocalHost__MasterKey

echo "==> Starting LocalHost on http://127.0.0.1:$port"
dotnet functions/MlopsFunctions.LocalHost/bin/Release/net10.0/MlopsFunctions.LocalHost.dll \
  --urls "http://127.0.0.1:$port" --Logging:LogLevel:Default=Warning --Logging:LogLevel:MlopsFunctions=Information &
pids+=($!)

api="http://127.0.0.1:$port/api"
for _ in $(seq 1 120); do
  curl -fs "$api/health" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fs "$api/health" >/dev/null || { echo "LocalHost did not become healthy." >&2; exit 1; }

start=$(date +%s)
for spec in samples/*.json; do
  model=$(basename "$spec" .json)
  echo "==> $model: PUT /api/models/$model, upload samples/data/$model.csv"
  curl -fsS -X PUT "$api/models/$model" -H "x-functions-key: $key" -H 'Content-Type: application/json' --data-binary @"$spec" >/dev/null
  node scripts/upload.mjs "$model" "samples/data/$model.csv" | sed 's/^/    /'
done

echo "==> Waiting for the sample models to reach production"
for spec in samples/*.json; do
  model=$(basename "$spec" .json)
  for _ in $(seq 1 240); do
    production=$(curl -fs -H "x-functions-key: $key" "$api/models/$model" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=JSON.parse(s);const v=(m.versions||[]).find(v=>v.version===m.slots.production);console.log(v?`v${v.version} ${v.metric}=${Number(v.value).toFixed(3)}`:"")})' 2>/dev/null || true)
    [ -n "$production" ] && break
    sleep 0.5
  done
  printf '    %-14s %s\n' "$model" "${production:-not in production (see GET $api/models/$model/runs)}"
done
echo "    ($(( $(date +%s) - start )) s from first upload)"

cat <<TXT

MlopsFunctions is running on $api (Ctrl+C stops LocalHost and Azurite).
Every route but /api/health needs a key: the admin key below opens all of them (kept in $data/master.key).
  key='$key'
  Dashboard:       http://127.0.0.1:$port/api/dashboard   (enter the key above)
  Models:          curl -H "x-functions-key: \$key" $api/models
  One model:       curl -H "x-functions-key: \$key" $api/models/iris
  Predict:         curl -X POST $api/models/iris/predict -H "x-functions-key: \$key" -H 'Content-Type: application/json' \\
                     -d '{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}'
  Runs:            curl -H "x-functions-key: \$key" $api/models/iris/runs
  Swap / rollback: curl -X POST -H "x-functions-key: \$key" $api/models/iris/swap   (or .../rollback)
  CLI:             MLOPS_URL=http://127.0.0.1:$port MLOPS_KEY=\$key scripts/mlops models
  New data:        AzureWebJobsStorage='$AzureWebJobsStorage' \\
                     scripts/mlops upload iris my-new-data.csv      (or node scripts/upload.mjs iris my-new-data.csv)
                   (or any storage client: Azure CLI, Storage Explorer, an SDK, with that connection string)
  Function keys:   set LocalHost__FunctionKeys__<name>=<value> before start for callers that only read and predict.
  Data lives in:   $data/azurite (containers incoming, datasets, rejected, models; table MlopsRegistry)
TXT
wait "${pids[1]}"
