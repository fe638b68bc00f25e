#!/usr/bin/env bash
# Build the medkb image where no container registry can be reached: the base image is made
# with debootstrap from Debian's packages, then deploy/image/Containerfile builds on it.
# With SMOKE=1 it then starts the image, waits for /health/ready and asks a question.
#
#   sudo deploy/image/build.sh                 # localhost/medkb:cpu
#   sudo VARIANT=cuda deploy/image/build.sh    # localhost/medkb:cuda
#   sudo SMOKE=1 deploy/image/build.sh         # ... and check the image answers
#   sudo BUILD=0 SMOKE=1 deploy/image/build.sh # only check an image built before
#
# Needs podman, buildah and debootstrap (apt-get install -y podman buildah debootstrap), and
# runc where crun refuses this host's cgroups (hybrid v1/v2: RUNTIME=runc). Behind a
# TLS-intercepting proxy set PIP_CERT_FILE to its CA bundle; WHEELS to a folder of wheels
# that pip should prefer (a local CPU torch, for one). Prints each step's seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."

VARIANT=${VARIANT:-cpu}
TAG=${TAG:-localhost/medkb:${VARIANT}}
BASE=${BASE:-localhost/medkb-base:bookworm}
WORK=${WORK:-/var/tmp/medkb-image}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
RUNTIME=${RUNTIME:-}
PIP_CERT_FILE=${PIP_CERT_FILE:-}
WHEELS=${WHEELS:-}
SMOKE=${SMOKE:-0}
BUILD=${BUILD:-1}
# Some hosts refuse the runtime's default rlimits (no CAP_SYS_RESOURCE): ask for small ones.
LIMITS=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)

podman_() { podman ${RUNTIME:+--runtime "$RUNTIME"} "$@"; }
step() { printf '%-28s %5d s\n' "$1" "$(($(date +%s) - $2))" >&2; }

make_base() {
  local start; start=$(date +%s)
  if podman image exists "$BASE"; then return; fi
  rm -rf "$WORK/rootfs" && mkdir -p "$WORK"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log"
  tar -C "$WORK/rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  step "base (debootstrap + import)" "$start"
}

build_image() {
  local start; start=$(date +%s)
  local args=(--build-arg "PYTHON_IMAGE=$BASE" --build-arg "VARIANT=$VARIANT")
  if [[ -n "$PIP_CERT_FILE" ]]; then
    args+=(-v "$PIP_CERT_FILE:/run/pip-ca.crt:ro" --build-arg PIP_CERT=/run/pip-ca.crt)
  fi
  if [[ -n "$WHEELS" ]]; then
    args+=(-v "$WHEELS:/wheels:ro" --build-arg PIP_FIND_LINKS=/wheels)
    # The wheel folder stands in for the torch index (download.pytorch.org may be unreachable).
    args+=(--build-arg TORCH_INDEX_URL_CPU=https://pypi.org/simple)
  fi
  # Docker format: OCI images drop SHELL and HEALTHCHECK.
  podman_ build "${LIMITS[@]}" --format docker --pull=never -f deploy/image/Containerfile -t "$TAG" "${args[@]}" .
  step "image build" "$start"
}

smoke() {
  local start port key answer; start=$(date +%s)
  port=${PORT:-18080}; SMOKE_NAME=medkb-smoke-$$
  local name=$SMOKE_NAME
  podman_ run -d --rm --name "$name" "${LIMITS[@]}" -p "127.0.0.1:$port:8000" "$TAG" >/dev/null
  trap 'podman_ rm -f "$SMOKE_NAME" >/dev/null 2>&1 || true' EXIT
  for _ in $(seq 120); do
    curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break; sleep 1
  done
  curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null
  step "start until /health/ready" "$start"
  podman_ exec "$name" medkb tenants create smoke >/dev/null
  key=$(podman_ exec "$name" medkb keys create --tenant smoke --scopes query,write --json \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')
  # The bundled demo Q&A, ingested by a second process next to the running server.
  podman_ exec -e MEDKB_TENANT=smoke "$name" sh -c \
    'medkb ingest "$(python -c "import medkb.demo as d, os; print(os.path.dirname(d.__file__))")/qa.jsonl"' \
    >/dev/null
  step "tenant, key and ingest" "$start"
  answer=$(curl -fsS -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"query": "What are the symptoms of diabetes?"}' "http://127.0.0.1:$port/v1/query")
  echo "$answer"
  step "smoke (start + ask)" "$start"
}

total=$(date +%s)
if [[ "$BUILD" == 1 ]]; then make_base; build_image; fi
podman image inspect "$TAG" --format 'image size: {{.Size}} bytes' >&2
if [[ "$SMOKE" == 1 ]]; then smoke; fi
step "total" "$total"
