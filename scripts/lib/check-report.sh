# Shared by scripts/gpu-check.sh and scripts/gpu-service-check.sh, sourced, never run: how a check
# reports (its lines prefixed with its name, sections, timed phases, a summary) and where nvcc is.
# The sourcing script sets check_name and started (= $SECONDS at its start) first.
phases=()

say() { printf '%s: %s\n' "$check_name" "$*"; }
section() { printf '\n== %s\n' "$*"; }
# Records how long the phase that just ended took, for the summary.
phase_done() { phases+=("$(printf '%-22s %4ds' "$1" "$((SECONDS - $2))")"); }
summary() {
  section "summary"
  local p
  for p in "${phases[@]}"; do printf '  %s\n' "$p"; done
  printf '  %-22s %4ds\n' "total" "$((SECONDS - started))"
  printf '  result: %s\n' "$1"
}
give_up() {
  local code=$1
  shift
  say "$*"
  summary "NOT RUN"
  exit "$code"
}

# The first nvcc of CUDACXX, PATH, CUDA_HOME, /usr/local/cuda and /usr/local/cuda-* (newest first);
# prints nothing when there is none.
find_nvcc() {
  local candidate
  for candidate in "${CUDACXX:-}" "$(command -v nvcc 2>/dev/null)" "${CUDA_HOME:+$CUDA_HOME/bin/nvcc}" /usr/local/cuda/bin/nvcc \
    $(ls -d /usr/local/cuda-*/bin/nvcc 2>/dev/null | sort -rV); do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      printf '%s\n' "$candidate"
      return
    fi
  done
}

# The CUDA toolkit's root as nvcc itself reports it (nvcc on PATH may be a wrapper script), else the
# folder above nvcc's own.
cuda_toolkit_of() {
  local top
  top="$("$1" --dryrun -x cu -c /dev/null -o /dev/null 2>&1 | sed -n 's/^#\$ TOP=//p' | head -n 1)"
  if [ -n "$top" ] && [ -d "$top" ]; then
    (cd "$top" && pwd -P)
  else
    dirname "$(dirname "$(readlink -f "$1")")"
  fi
}
