#!/usr/bin/env bash
# Build the bench-only virtualenv: the peers (openfisca-core with the OpenFisca peer model,
# zen-engine) next to fupin_rules and the county_2017 policy. The peers are benchmark-only
# dependencies and never enter the project's own dependencies or venv.
#
#   bash bench/make_bench_venv.sh                      # venv at .bench-venv/ in this checkout
#   bash bench/make_bench_venv.sh --peer-dir DIR       # the OpenFisca peer model's folder
#   BENCH_VENV=DIR FUPIN_PEER_DIR=DIR bash bench/make_bench_venv.sh
#
# The venv path defaults to .bench-venv/ at the root of this checkout (gitignored). The peer
# folder defaults to $FUPIN_PEER_DIR, else ../shared/peers/openfisca next to the checkout (or
# ../../shared/peers/openfisca from a worktree one level deeper). The peer folder may be
# read-only: it is copied to a temporary folder and installed from there (not editable), so
# nothing is written into it. Re-running the script reuses an existing venv and reinstalls.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${BENCH_VENV:-$root/.bench-venv}"
peer_dir="${FUPIN_PEER_DIR:-}"
python="${PYTHON:-python3}"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --peer-dir) peer_dir="$2"; shift 2 ;;
    --venv) venv="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "make_bench_venv.sh: unknown argument $1 (expected --peer-dir, --venv, --python)" >&2; exit 2 ;;
  esac
done

if [[ -z "$peer_dir" ]]; then
  for candidate in "$root/../shared/peers/openfisca" "$root/../../shared/peers/openfisca"; do
    if [[ -f "$candidate/pyproject.toml" ]]; then
      peer_dir="$candidate"
      break
    fi
  done
fi
if [[ -z "$peer_dir" || ! -f "$peer_dir/pyproject.toml" ]]; then
  echo "make_bench_venv.sh: the OpenFisca peer model was not found; pass --peer-dir DIR" \
       "(the folder with its pyproject.toml and bench.py) or set FUPIN_PEER_DIR" >&2
  exit 2
fi
peer_dir="$(cd "$peer_dir" && pwd)"

export PIP_DISABLE_PIP_VERSION_CHECK=1
if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install -q)
# The peers and what the benchmarks import besides the project.
# openfisca-core's web-api extra: bench_service.py runs the peer's Web API (openfisca serve)
"${pip[@]}" "openfisca-core[web-api]>=46,<47" numpy "zen-engine>=2,<3"
# The project and its policy, editable, so the bench measures this checkout.
# (with the serve extra: bench_service.py runs fupin-rules serve next to openfisca serve)
"${pip[@]}" -e "$root[serve]" -e "$root/policies/county_2017"
# The peer model, from a temporary copy (the shared folder is read-only for pip's build).
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r "$peer_dir" "$tmp/peer"
chmod -R u+w "$tmp/peer"
"${pip[@]}" "$tmp/peer"
# The peer's own tests, as its README says: proves the model installed and works.
"$venv/bin/openfisca" test -c openfisca_fupin_peer "$peer_dir/tests/" >/dev/null
echo "bench venv ready: $venv (peer model from $peer_dir)"
