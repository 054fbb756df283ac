#!/usr/bin/env bash
# The GPU service check (issue 13, item 8): the Node service itself on a CUDA machine that has no
# package registry and perhaps no Node. scripts/gpu-check.sh checks the C++ core alone; this one runs
# `talk2me serve` built with TALK2ME_CUDA and checks, through HTTP, that the memory manager reads
# cudaMemGetInfo, that a model reload under load fails no request, that device memory comes back to
# its baseline after trims and reloads, and measures throughput against whisper-server built from the
# same whisper.cpp tree, with the same model, clip, threads and decoding (bench/gpu-service.ts).
#
#   scripts/gpu-service-check.sh pack
#       here, in a checkout where `npm ci` has run: writes .gpu-kit/ (~30 MB, what the GPU machine
#       lacks): node.xz (this machine's Node), app.tar.xz (dist/, the addon's sources and build
#       scripts, the production node_modules without the whisper.cpp package, the check's driver
#       bundled into one file) and whisper.cpp.tar.xz (the pinned tree vendor/prepare.mjs laid out).
#   scripts/gpu-service-check.sh
#       on the GPU machine, with .gpu-kit/ carried beside the checkout: unpacks it into
#       build-gpu-service/, builds the addon (cmake-js, TALK2ME_CUDA) and whisper-server in one CMake
#       tree (ggml-cuda is compiled once: twice would not fit the machine's time), writes a synthetic
#       tiny.en model and runs the checks. Packs first where the kit is missing and npm has run.
#   GPU_SERVICE_CHECK_CPU_ONLY=1 scripts/gpu-service-check.sh
#       the dry run, anywhere: the same steps from the same kit with a CPU build; the device checks
#       are skipped and say so.
#
# Settings: GPU_SERVICE_CHECK_KIT (.gpu-kit), GPU_SERVICE_CHECK_WORK (build-gpu-service), GPU_SERVICE_CHECK_ARCH
# (90: H100, H200), GPU_SERVICE_CHECK_JOBS (all cores), GPU_SERVICE_CHECK_BUDGET_S (540: the build stops
# in time for the checks to run inside it; a rerun resumes the build), GPU_SERVICE_CHECK_DIMS (tiny or
# mini), GPU_SERVICE_CHECK_ARGS (more driver options, e.g. "--requests 400 --clients 16"), CUDACXX or
# CUDA_HOME (where nvcc is).
#
# Exit status: the driver's (0 every check passed, 1 a check failed, 2 an error), 3 when something the
# check needs is missing, 4 when the build fails or runs out of time.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kit="${GPU_SERVICE_CHECK_KIT:-$root/.gpu-kit}"
work="${GPU_SERVICE_CHECK_WORK:-$root/build-gpu-service}"
cpu_only="${GPU_SERVICE_CHECK_CPU_ONLY:-0}"
arch="${GPU_SERVICE_CHECK_ARCH:-90}"
jobs="${GPU_SERVICE_CHECK_JOBS:-$(nproc 2>/dev/null || echo 4)}"
budget="${GPU_SERVICE_CHECK_BUDGET_S:-540}"
dims="${GPU_SERVICE_CHECK_DIMS:-tiny}"
case "$kit" in /*) ;; *) kit="$root/$kit" ;; esac
case "$work" in /*) ;; *) work="$root/$work" ;; esac
started=$SECONDS
check_name=gpu-service-check
# shellcheck source=scripts/lib/check-report.sh
. "$root/scripts/lib/check-report.sh"

# xz, or Python's lzma where the machine has no xz.
unxz_to() {
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$1" >"$2"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
}

# --- pack: here, where npm has installed everything ----------------------------------------------------
pack() {
  section "pack ${kit#"$root"/}"
  local t=$SECONDS
  command -v node >/dev/null 2>&1 || give_up 3 "pack needs Node (it copies this machine's)"
  command -v xz >/dev/null 2>&1 || give_up 3 "pack needs xz (apt-get install xz-utils)"
  [ -d "$root/node_modules/cmake-js" ] || give_up 3 "pack needs the installed checkout: run npm ci first"
  mkdir -p "$kit"

  local node_bin version
  node_bin="$(readlink -f "$(command -v node)")"
  version="$(node --version)"
  if [ "$(cat "$kit/node.version" 2>/dev/null)" != "$version" ] || [ ! -f "$kit/node.xz" ]; then
    say "compressing $node_bin ($version) into node.xz (minutes on a small machine)"
    xz -T0 -6 -c "$node_bin" >"$kit/node.xz.part" && mv "$kit/node.xz.part" "$kit/node.xz" || give_up 2 "could not compress Node"
    echo "$version" >"$kit/node.version"
  else
    say "node.xz is $version already"
  fi

  say "building dist/ and web/dist/ (npm run build)"
  (cd "$root" && npm run build >"$kit/build.log" 2>&1) || { tail -n 30 "$kit/build.log"; give_up 4 "npm run build failed"; }
  local stage
  stage="$(mktemp -d)"
  mkdir -p "$stage/vendor" "$stage/scripts" "$stage/web" "$stage/bench"
  cp -R "$root/package.json" "$root/CMakeLists.txt" "$root/native" "$root/dist" "$stage/" &&
    cp -R "$root/web/dist" "$stage/web/" &&
    cp "$root/vendor/prepare.mjs" "$stage/vendor/" &&
    cp "$root/scripts/build-native.mjs" "$stage/scripts/" || give_up 2 "could not stage the app"
  "$root/node_modules/.bin/esbuild" "$root/bench/gpu-service.ts" --bundle --platform=node --format=esm --target=node20 \
    --log-level=warning --outfile="$stage/bench/gpu-service.mjs" || give_up 4 "could not bundle bench/gpu-service.ts"
  # The production dependencies as package-lock.json resolved them (top-level folders; what nests in
  # them comes along), without nodejs-whisper: 35 MB of whisper.cpp source that whisper.cpp.tar.xz
  # carries laid out already.
  (cd "$root" && node -e '
    const { existsSync } = require("node:fs");
    const lock = require("./package-lock.json");
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (/^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && !entry.dev && path !== "node_modules/nodejs-whisper" && existsSync(path)) console.log(path);
    }') >"$stage/.modules"
  [ -s "$stage/.modules" ] || give_up 2 "npm ls listed no production dependency"
  tar -C "$stage" -cf "$kit/app.tar" --exclude=.modules . && tar -C "$root" -rf "$kit/app.tar" -T "$stage/.modules" || give_up 2 "could not archive the app"
  xz -T0 -6 -f "$kit/app.tar" || give_up 2 "could not compress the app"
  rm -rf "$stage"

  local whisper
  whisper="$(readlink -f "$root/vendor/whisper.cpp")"
  [ -f "$whisper/CMakeLists.txt" ] || (cd "$root" && node vendor/prepare.mjs >/dev/null) || give_up 3 "no vendor/whisper.cpp: run npm ci"
  tar -C "$(dirname "$whisper")" -cf - "$(basename "$whisper")" | xz -T0 -6 >"$kit/whisper.cpp.tar.xz" || give_up 2 "could not archive whisper.cpp"

  {
    echo "packed $(date -u +%FT%TZ) from $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$root" && git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "node $version"
    (cd "$kit" && sha256sum node.xz app.tar.xz whisper.cpp.tar.xz)
  } >"$kit/MANIFEST"
  du -ch "$kit"/*.xz | sed 's/^/gpu-service-check: /'
  phase_done "pack" "$t"
}

if [ "${1:-}" = "pack" ]; then
  pack
  summary "packed"
  exit 0
fi

# --- unpack ----------------------------------------------------------------------------------------
if [ ! -f "$kit/MANIFEST" ]; then
  if [ -d "$root/node_modules/cmake-js" ]; then pack; else give_up 3 "no kit in $kit: run \`scripts/gpu-service-check.sh pack\` where npm ci has run and carry .gpu-kit along"; fi
fi
section "kit"
t=$SECONDS
sed 's/^/gpu-service-check: /' "$kit/MANIFEST" | head -n 2
app="$work/app"
whisper_dir="$work/whisper.cpp"
mkdir -p "$work/bin"
if ! cmp -s "$kit/MANIFEST" "$work/MANIFEST"; then
  # A build from an earlier kit stays: tar keeps the files' times, so ninja rebuilds what changed.
  mkdir -p "$app"
  find "$app" -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} +
  rm -rf "$whisper_dir" "$work/bin/node"
  unxz_to "$kit/app.tar.xz" "$work/app.tar" && tar -C "$app" -xf "$work/app.tar" && rm -f "$work/app.tar" || give_up 2 "could not unpack app.tar.xz"
  unxz_to "$kit/whisper.cpp.tar.xz" "$work/whisper.tar" && tar -C "$work" -xf "$work/whisper.tar" && rm -f "$work/whisper.tar" || give_up 2 "could not unpack whisper.cpp.tar.xz"
  unxz_to "$kit/node.xz" "$work/bin/node" && chmod +x "$work/bin/node" || give_up 2 "could not unpack node.xz"
  cp "$kit/MANIFEST" "$work/MANIFEST"
fi
# The kit's Node wherever the check runs, so the dry run here exercises the same binary.
export PATH="$work/bin:$PATH"
node --version >/dev/null 2>&1 || give_up 3 "the kit's Node does not run here: $(node --version 2>&1 | head -n 1)"
say "node $(node --version) from ${work#"$root"/}/bin; app in ${app#"$root"/}"
phase_done "unpack" "$t"

# --- toolchain -------------------------------------------------------------------------------------
section "toolchain and GPU"
t=$SECONDS
command -v cmake >/dev/null 2>&1 || give_up 3 "cmake is not on PATH (3.18 or newer is needed)"
say "$(cmake --version | head -n 1)"
command -v "${CXX:-c++}" >/dev/null 2>&1 || give_up 3 "no C++ compiler (${CXX:-c++}) on PATH"
say "cores: $(nproc 2>/dev/null || echo '?'), build jobs: $jobs"
cmake_defs=(--CDTALK2ME_BUILD_PEERS=ON)
if [ "$cpu_only" = 1 ]; then
  say "GPU_SERVICE_CHECK_CPU_ONLY=1: a CPU build; no GPU: device checks skipped"
else
  nvcc="$(find_nvcc)"
  [ -n "$nvcc" ] || give_up 3 "nvcc not found (PATH, CUDACXX, CUDA_HOME, /usr/local/cuda*): install the CUDA toolkit, or GPU_SERVICE_CHECK_CPU_ONLY=1 for the dry run"
  toolkit="$(cuda_toolkit_of "$nvcc")"
  [ -x "$toolkit/bin/nvcc" ] && nvcc="$toolkit/bin/nvcc"
  say "nvcc: $nvcc, $("$nvcc" --version | grep -i release | head -n 1)"
  ls "$toolkit"/include/cublas_v2.h "$toolkit"/targets/*/include/cublas_v2.h >/dev/null 2>&1 ||
    give_up 3 "ggml-cuda needs cuBLAS and $toolkit has no cublas_v2.h (scripts/gpu-check.sh also looks in Python wheels)"
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv,noheader 2>&1 | sed 's/^/gpu-service-check: GPU /'
  else
    say "nvidia-smi is not on PATH"
  fi
  export CUDACXX="$nvcc" PATH="$toolkit/bin:$PATH"
  cmake_defs+=(--CDTALK2ME_CUDA=ON "--CDCMAKE_CUDA_ARCHITECTURES=$arch")
fi
phase_done "inspect" "$t"

# --- build -----------------------------------------------------------------------------------------
section "build ($([ "$cpu_only" = 1 ] && echo "CPU only" || echo "CUDA, sm_$arch") in ${app#"$root"/}/build)"
t=$SECONDS
export TALK2ME_WHISPER_DIR="$whisper_dir"
(cd "$app" && node vendor/prepare.mjs) | sed 's/^/gpu-service-check: /'
# What scripts/build-native.mjs runs (cmake-js, offline: node-api-headers), configured with the peers
# too, then the addon and whisper-server built in one go from the same objects.
say "node node_modules/cmake-js/bin/cmake-js configure ${cmake_defs[*]}"
if ! (cd "$app" && node node_modules/cmake-js/bin/cmake-js configure --log-level warn "${cmake_defs[@]}") >"$work/configure.log" 2>&1; then
  tail -n 40 "$work/configure.log"
  give_up 4 "configuring failed (whole log: $work/configure.log)"
fi
grep -E "CUDA Toolkit found|CMAKE_CUDA_ARCHITECTURES|Including CUDA backend" "$work/configure.log" | sed 's/^/gpu-service-check: cmake: /'
build_limit=$((budget - (SECONDS - started) - 150))
[ "$build_limit" -gt 30 ] || build_limit=30
say "building talk2me.node and whisper-server with $jobs jobs (at most ${build_limit}s; log: $work/build.log)"
timeout "$build_limit" cmake --build "$app/build" --config Release --target talk2me_addon whisper-server --parallel "$jobs" >"$work/build.log" 2>&1
status=$?
phase_done "build" "$t"
if [ "$status" -eq 124 ]; then
  give_up 4 "the build did not finish within ${build_limit}s; run the script again to resume it, or raise GPU_SERVICE_CHECK_BUDGET_S"
elif [ "$status" -ne 0 ]; then
  grep -E -B2 -A8 "error|Error" "$work/build.log" | head -n 60
  give_up 4 "the build failed (whole log: $work/build.log)"
fi
addon="$app/build/Release/talk2me.node"
whisper_server="$(find "$app/build" -name whisper-server -type f -perm -u+x | head -n 1)"
[ -f "$addon" ] && [ -n "$whisper_server" ] || give_up 4 "the build finished but talk2me.node or whisper-server is missing"
say "backends: $(cd "$app" && node -e 'import("./dist/native/index.js").then((m) => console.log(m.systemInfo().backends.join(", ")))' 2>&1)"

# --- model and checks ------------------------------------------------------------------------------
section "synthetic model"
t=$SECONDS
model="$work/synthetic-$dims.bin"
[ -f "$model" ] || (cd "$app" && node dist/cli.js model synth "$model" --dims "$dims") || give_up 2 "could not write the synthetic model"
phase_done "model" "$t"

section "service check"
t=$SECONDS
run_dir="$work/run-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$run_dir"
if [ "$cpu_only" = 1 ]; then
  # A small machine: fewer and lighter requests, one thread per state.
  driver_args=(--concurrency 2 --threads 1 --clients 4 --requests 12 --rounds 2)
else
  driver_args=(--require-gpu --concurrency 4 --threads 4 --clients 8 --requests 200)
fi
# shellcheck disable=SC2206 # GPU_SERVICE_CHECK_ARGS is a list of options, split on purpose
driver_args+=(${GPU_SERVICE_CHECK_ARGS:-})
check_limit=$((budget - (SECONDS - started)))
[ "$check_limit" -gt 120 ] || check_limit=120
say "node bench/gpu-service.mjs ${driver_args[*]} (at most ${check_limit}s)"
timeout "$check_limit" node "$app/bench/gpu-service.mjs" --app "$app" --whisper-server "$whisper_server" --model "$model" --work "$run_dir" "${driver_args[@]}"
status=$?
phase_done "check" "$t"
case "$status" in
  0) result="PASS" ;;
  1) result="FAIL (a check failed, see above)" ;;
  124) result="ERROR (the checks did not finish within ${check_limit}s)"; status=2 ;;
  *) result="ERROR (the driver exited with $status)" ;;
esac
[ "$cpu_only" = 1 ] && result="$result, CPU only: no GPU: device checks skipped"
summary "$result"
exit "$status"
