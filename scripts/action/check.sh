#!/usr/bin/env bash
# satoken check on the manifests or chart: one run per node image (or, with node-image
# build, per Kubernetes version), each into a directory of its own when there are
# several. Outputs: runs (one "label<TAB>dir<TAB>exit" line per run) and exit-code (the
# worst, docs/how-it-works.md "Three outcomes"). The step fails only on bad input; the verdict step
# decides the outcome.
set -euo pipefail
# shellcheck source=scripts/action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# On bad input the outcome is a harness error, known to the verdict step too.
trap 'rc=$?; ((rc == 0)) || set_output exit-code 1' EXIT

# Checked here too, so that a typo stops the job before a check of many minutes.
boolean fail-on-not-judged "${FAIL_ON_NOT_JUDGED:-true}"

declare -a images values sets node_images versions # set by split_*
split_words images "${IMAGES:-}"
split_lines values "${VALUES:-}"
split_lines sets "${SET_VALUES:-}"
split_words node_images "${NODE_IMAGE:-}"
split_words versions "${K8S_VERSIONS:-}"
# Split on whitespace only (a flag's value may hold commas); no quoting, no globbing.
read -r -d '' -a extra <<<"${CHECK_ARGS:-}" || true

# What to deploy.
workload=()
if [[ -n "${MANIFESTS:-}" && -n "${CHART:-}" ]]; then
  fail "manifests and chart: give one of them"
elif [[ -n "${MANIFESTS:-}" ]]; then
  for pair in VALUES:values SET_VALUES:set RELEASE:release NAMESPACE:namespace; do
    var=${pair%%:*}
    [[ -z "${!var:-}" ]] || fail "${pair#*:}: only with chart (manifests are deployed as they are)"
  done
  workload=(--manifests "$MANIFESTS")
elif [[ -n "${CHART:-}" ]]; then
  workload=(--chart "$CHART")
  for f in "${values[@]}"; do workload+=(--values "$f"); done
  for kv in "${sets[@]}"; do workload+=(--set "$kv"); done
  [[ -z "${RELEASE:-}" ]] || workload+=(--release "$RELEASE")
  [[ -z "${NAMESPACE:-}" ]] || workload+=(--namespace "$NAMESPACE")
elif ((${#images[@]} > 0)); then
  echo "satoken check: skipped (no manifests or chart; the scan of the images decides)"
  exit 0
else
  fail "manifests or chart: give one (or only images, to scan them)"
fi

# Flags the inputs own stay theirs: a second --out would hide the report from the summary.
for arg in "${extra[@]}"; do
  case "${arg%%=*}" in
    --out | --manifests | --chart | --values | --set | --release | --namespace | --image | --node-image | --k8s)
      fail "check-args: ${arg%%=*} is set by an input of the action (see action.yml)" ;;
  esac
done

# Where to run: one check per node image, or per offline-built Kubernetes version.
labels=() targets=()
if [[ "${node_images[*]}" == build ]]; then
  ((${#versions[@]} > 0)) || versions=("")
  for v in "${versions[@]}"; do
    labels+=("${v:-default Kubernetes version}")
    targets+=("${v:+--k8s=$v}")
  done
elif ((${#node_images[@]} == 0)); then
  fail "node-image: empty (give a kind node image, or build)"
elif ((${#versions[@]} > 0)); then
  fail "kubernetes-versions: only with node-image build; to run on several published images, list them in node-image"
else
  for img in "${node_images[@]}"; do
    [[ "$img" != build ]] || fail "node-image: build stands alone (the versions go in kubernetes-versions)"
    labels+=("$img")
    targets+=("--node-image=$img")
  done
fi

mkdir -p "$OUT_DIR"
runs="" worst_rc=0
for i in "${!labels[@]}"; do
  dir="$OUT_DIR"
  if ((${#labels[@]} > 1)); then
    name=${labels[$i]%%@*}
    dir="$OUT_DIR/${name//[^A-Za-z0-9.]/-}"
  fi
  args=(check "${workload[@]}")
  for img in "${images[@]}"; do args+=(--image "$img"); done
  [[ -z "${targets[$i]}" ]] || args+=("${targets[$i]}")
  args+=("${extra[@]}" --out "$dir")
  echo "::group::satoken ${args[*]}"
  rc=0
  "$SATOKEN_BIN" "${args[@]}" || rc=$?
  echo "::endgroup::"
  echo "satoken check (${labels[$i]}): exit $rc ($(outcome "$rc"))"
  runs+="${labels[$i]}"$'\t'"$dir"$'\t'"$rc"$'\n'
  worst_rc=$(worst "$worst_rc" "$rc")
done

set_output runs "${runs%$'\n'}"
set_output exit-code "$worst_rc"
