#!/usr/bin/env bash
# The GPU check (issue 6), for a machine with an NVIDIA GPU and no network. It needs neither Node
# nor npm: CMake, a C++17 compiler and the CUDA toolkit with cuBLAS. It finds the pinned whisper.cpp
# source, reports the toolchain and the GPU, builds native/check's harness (talk2me-check) with
# ggml-cuda for one GPU architecture, writes a synthetic tiny.en model with the harness, and runs
# the memory check: load, transcribe, trim, recreate, cudaMemGetInfo after each step.
#
#   scripts/gpu-check.sh                         CUDA build for sm_90 (H100, H200)
#   GPU_CHECK_ARCH=89 scripts/gpu-check.sh       another architecture (CMAKE_CUDA_ARCHITECTURES)
#   GPU_CHECK_CPU_ONLY=1 scripts/gpu-check.sh    the same steps without CUDA (runs anywhere)
#
# More settings: GPU_CHECK_BUILD_DIR (build-check-cuda/, or build-check/ when CPU-only),
# GPU_CHECK_JOBS (all cores), GPU_CHECK_DIMS (tiny or mini; tiny), GPU_CHECK_ARGS (more harness
# options, e.g. "--runs 5 --cycles 3"), GPU_CHECK_BUDGET_S (480: the build stops in time for the
# check to finish inside it; a rerun resumes the build), CUDACXX or CUDA_HOME (where nvcc is),
# TALK2ME_WHISPER_DIR (your own whisper.cpp checkout).
#
# Exit status: the harness's (0 every check passed, 1 a check failed, 2 an error), 3 when something
# the check needs is missing, 4 when the build fails or runs out of time.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pinned=1.9.1
cpu_only="${GPU_CHECK_CPU_ONLY:-0}"
arch="${GPU_CHECK_ARCH:-90}"
dims="${GPU_CHECK_DIMS:-tiny}"
budget="${GPU_CHECK_BUDGET_S:-480}"
jobs="${GPU_CHECK_JOBS:-$(nproc 2>/dev/null || echo 4)}"
if [ "$cpu_only" = 1 ]; then default_dir=build-check; else default_dir=build-check-cuda; fi
build="${GPU_CHECK_BUILD_DIR:-$root/$default_dir}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
started=$SECONDS
check_name=gpu-check
# shellcheck source=scripts/lib/check-report.sh
. "$root/scripts/lib/check-report.sh"

whisper_version() { sed -n 's/^project("whisper\.cpp" VERSION \([0-9.]*\)).*/\1/p' "$1/CMakeLists.txt" 2>/dev/null | head -n 1; }

# --- whisper.cpp source: the pinned tree, without npm ----------------------------------------------
section "whisper.cpp source"
t=$SECONDS
packaged="$root/node_modules/nodejs-whisper/cpp/whisper.cpp"
vendored="$root/vendor/whisper.cpp"
if [ -n "${TALK2ME_WHISPER_DIR:-}" ]; then
  whisper_dir="$TALK2ME_WHISPER_DIR"
  version="$(whisper_version "$whisper_dir")"
  [ -n "$version" ] || give_up 3 "TALK2ME_WHISPER_DIR=$whisper_dir holds no whisper.cpp CMakeLists.txt"
  [ "$version" = "$pinned" ] || say "warning: whisper.cpp $version in $whisper_dir; talk2me is tested with $pinned"
elif [ "$(whisper_version "$packaged")" = "$pinned" ]; then
  if command -v node >/dev/null 2>&1 && node "$root/vendor/prepare.mjs" >/dev/null; then
    whisper_dir="$vendored"  # laid out as npm install does
  else
    whisper_dir="$packaged"  # no Node: CMake builds the packaged tree in place, same source
  fi
elif [ "$(whisper_version "$vendored")" = "$pinned" ]; then
  whisper_dir="$vendored"
else
  give_up 3 "no whisper.cpp $pinned here: run npm install once (it lays out vendor/whisper.cpp), copy that folder" \
    "along with the checkout, or set TALK2ME_WHISPER_DIR"
fi
say "whisper.cpp $(whisper_version "$whisper_dir") from $whisper_dir"
phase_done "source" "$t"

# --- what this machine has -------------------------------------------------------------------------
section "toolchain and GPU"
t=$SECONDS
command -v cmake >/dev/null 2>&1 || give_up 3 "cmake is not on PATH (3.18 or newer is needed)"
say "$(cmake --version | head -n 1)"
cxx="${CXX:-c++}"
command -v "$cxx" >/dev/null 2>&1 || give_up 3 "no C++ compiler ($cxx) on PATH"
say "C++: $("$cxx" --version | head -n 1)"
generator=()
if command -v ninja >/dev/null 2>&1; then
  say "ninja $(ninja --version)"
  [ -f "$build/CMakeCache.txt" ] || generator=(-G Ninja)  # an existing build dir keeps its generator
fi
say "cores: $(nproc 2>/dev/null || echo '?'), build jobs: $jobs"

cuda_args=(-DTALK2ME_CUDA=OFF)
extra_lib_path=""
if [ "$cpu_only" = 1 ]; then
  say "GPU_CHECK_CPU_ONLY=1: building without CUDA; the harness skips its device checks"
else
  nvcc="$(find_nvcc)"
  [ -n "$nvcc" ] || give_up 3 "nvcc not found (PATH, CUDACXX, CUDA_HOME, /usr/local/cuda*): install the CUDA toolkit"
  toolkit="$(cuda_toolkit_of "$nvcc")"
  [ -x "$toolkit/bin/nvcc" ] && nvcc="$toolkit/bin/nvcc"
  say "nvcc: $nvcc, $("$nvcc" --version | grep -i release | head -n 1)"
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=index,name,memory.total,memory.used,driver_version,compute_cap --format=csv,noheader 2>/dev/null |
      sed 's/^/gpu-check: GPU /' || nvidia-smi -L 2>&1 | sed 's/^/gpu-check: /'
    say "(columns: index, name, memory total, memory used, driver, compute capability)"
  else
    say "nvidia-smi is not on PATH"
  fi

  # cuBLAS: in the toolkit (CMake finds it there), or else in the nvidia-cublas Python wheels.
  say "CUDA toolkit: $toolkit"
  site_dirs=""
  for py in python3 python; do
    if command -v "$py" >/dev/null 2>&1; then
      site_dirs="$("$py" -c 'import site, sys; print(" ".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null)"
      break
    fi
  done
  header_dirs=("$toolkit/include" "$toolkit"/targets/*/include /usr/include /usr/local/include)
  lib_dirs=("$toolkit/lib64" "$toolkit/lib" "$toolkit"/targets/*/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib/aarch64-linux-gnu)
  wheel_dirs=()
  for s in $site_dirs; do
    for d in "$s"/nvidia/*/; do [ -d "$d" ] && wheel_dirs+=("${d%/}"); done
  done
  cublas_header="" cublas_lib="" cublaslt_lib="" from_wheel=0
  for d in "${header_dirs[@]}"; do [ -f "$d/cublas_v2.h" ] && { cublas_header="$d/cublas_v2.h"; break; }; done
  for d in "${lib_dirs[@]}"; do
    for f in "$d"/libcublas.so "$d"/libcublas.so.* "$d"/libcublas_static.a; do
      [ -e "$f" ] && { cublas_lib="$f"; cublaslt_lib="$(ls "$d"/libcublasLt.so* 2>/dev/null | sort -V | head -n 1)"; break 2; }
    done
  done
  if [ -z "$cublas_header" ] || [ -z "$cublas_lib" ]; then
    for d in "${wheel_dirs[@]}"; do
      if [ -f "$d/include/cublas_v2.h" ] && ls "$d"/lib/libcublas.so* >/dev/null 2>&1; then
        cublas_header="$d/include/cublas_v2.h"
        cublas_lib="$(ls "$d"/lib/libcublas.so* | sort -V | head -n 1)"
        cublaslt_lib="$(ls "$d"/lib/libcublasLt.so* 2>/dev/null | sort -V | head -n 1)"
        from_wheel=1
        break
      fi
    done
  fi
  say "cuBLAS header: ${cublas_header:-not found}"
  say "cuBLAS library: ${cublas_lib:-not found}"
  [ -n "$cublas_header" ] && [ -n "$cublas_lib" ] ||
    give_up 3 "ggml-cuda needs cuBLAS (cublas_v2.h and libcublas): install the toolkit's cuBLAS (e.g. apt-get install libcublas-dev-13-0)"
  cuda_args=(-DTALK2ME_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=$arch" "-DCMAKE_CUDA_COMPILER=$nvcc")

  # The driver library (ggml-cuda's memory pool maps memory with it): the toolkit's link stub, or
  # else the driver's own, which containers often keep outside the usual directories.
  driver_lib=""
  for f in "$toolkit"/lib64/stubs/libcuda.so "$toolkit"/lib/stubs/libcuda.so "$toolkit"/targets/*/lib/stubs/libcuda.so; do
    [ -e "$f" ] && { driver_lib="$f"; break; }
  done
  if [ -n "$driver_lib" ]; then
    say "CUDA driver library: $driver_lib (CMake finds it)"
  else
    IFS=: read -r -a ld_dirs <<<"${LD_LIBRARY_PATH:-}"
    for d in "${ld_dirs[@]}" /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib/aarch64-linux-gnu /usr/lib/wsl/lib; do
      for f in "$d"/libcuda.so "$d"/libcuda.so.1; do [ -n "$d" ] && [ -e "$f" ] && { driver_lib="$f"; break 2; }; done
    done
    [ -n "$driver_lib" ] || driver_lib="$(ldconfig -p 2>/dev/null | sed -n 's/.*libcuda\.so\.1 .*=> //p' | head -n 1)"
    if [ -n "$driver_lib" ]; then
      say "CUDA driver library: $driver_lib"
      cuda_args+=("-DCUDA_cuda_driver_LIBRARY=$driver_lib")
    else
      say "no CUDA driver library (libcuda.so) found: building ggml-cuda without its VMM memory pool (GGML_CUDA_NO_VMM)"
      cuda_args+=(-DGGML_CUDA_NO_VMM=ON)
    fi
  fi
  case "$cublas_lib" in
    */libcublas.so | */libcublas_static.a) ;;
    *)  # only the versioned runtime library (no development link): name it, CMake would not find it
      [ "$from_wheel" = 1 ] || cuda_args+=("-DCUDA_cublas_LIBRARY=$cublas_lib" "-DCUDA_cublasLt_LIBRARY=$cublaslt_lib") ;;
  esac
  if [ "$from_wheel" = 1 ]; then
    # Outside the toolkit: name the libraries to CMake's FindCUDAToolkit, and give nvcc the cuBLAS
    # headers alone (not the wheel's other CUDA headers, which could shadow the toolkit's).
    [ -n "$cublaslt_lib" ] || give_up 3 "libcublasLt is missing beside $cublas_lib"
    mkdir -p "$build/cublas-include"
    ln -sf "$(dirname "$cublas_header")"/cublas*.h "$build/cublas-include/"
    cuda_args+=("-DCUDA_cublas_LIBRARY=$cublas_lib" "-DCUDA_cublasLt_LIBRARY=$cublaslt_lib"
      "-DCMAKE_CUDA_FLAGS=-I$build/cublas-include")
    extra_lib_path="$(dirname "$cublas_lib")"
    say "using cuBLAS from a Python wheel: $(dirname "$cublas_lib")"
  fi
fi
phase_done "inspect" "$t"

# --- build ---------------------------------------------------------------------------------------
section "build ($([ "$cpu_only" = 1 ] && echo "CPU only" || echo "CUDA, sm_$arch") in ${build#"$root"/})"
t=$SECONDS
mkdir -p "$build"
configure=(cmake -S "$root" -B "$build" "${generator[@]}" -DTALK2ME_BUILD_CHECK=ON -DCMAKE_BUILD_TYPE=Release
  "-DTALK2ME_WHISPER_DIR=$whisper_dir" "${cuda_args[@]}")
say "${configure[*]}"
if ! "${configure[@]}" >"$build/gpu-check-configure.log" 2>&1; then
  tail -n 40 "$build/gpu-check-configure.log"
  give_up 4 "configuring failed (whole log: $build/gpu-check-configure.log)"
fi
grep -E "CUDA Toolkit found|CMAKE_CUDA_ARCHITECTURES|Including CUDA backend" "$build/gpu-check-configure.log" | sed 's/^/gpu-check: cmake: /'
# Leave time for the check itself inside the budget; a build cut short resumes on the next run.
build_limit=$((budget - (SECONDS - started) - 90))
[ "$build_limit" -gt 30 ] || build_limit=30
say "building talk2me-check with $jobs jobs (at most ${build_limit}s; log: $build/gpu-check-build.log)"
timeout "$build_limit" cmake --build "$build" --target talk2me-check -j "$jobs" >"$build/gpu-check-build.log" 2>&1
status=$?
phase_done "build" "$t"
if [ "$status" -eq 124 ]; then
  give_up 4 "the build did not finish within ${build_limit}s; run the script again to resume it, or raise GPU_CHECK_BUDGET_S"
elif [ "$status" -ne 0 ]; then
  grep -E -B2 -A8 "error|Error" "$build/gpu-check-build.log" | head -n 60
  give_up 4 "the build failed (whole log: $build/gpu-check-build.log)"
fi
harness="$build/native/check/talk2me-check"
[ -n "$extra_lib_path" ] && export LD_LIBRARY_PATH="$extra_lib_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# --- model and check -----------------------------------------------------------------------------
section "synthetic model"
t=$SECONDS
model="$build/synthetic-$dims.bin"
"$harness" --write-synthetic-model "$model" --dims "$dims" || give_up 4 "could not write the synthetic model"
phase_done "model" "$t"

section "memory check"
t=$SECONDS
check_args=()
[ "$cpu_only" = 1 ] || check_args+=(--require-gpu)
# shellcheck disable=SC2206 # GPU_CHECK_ARGS is a list of options, split on purpose
check_args+=(${GPU_CHECK_ARGS:-})
say "$harness $model ${check_args[*]}"
timeout 240 "$harness" "$model" "${check_args[@]}"
status=$?
phase_done "check" "$t"
case "$status" in
  0) result="PASS" ;;
  1) result="FAIL (a memory check failed, see above)" ;;
  124) result="ERROR (the check did not finish within 240 s)"; status=2 ;;
  *) result="ERROR (the harness exited with $status)" ;;
esac
[ "$cpu_only" = 1 ] && result="$result, CPU only: no device memory was checked"
summary "$result"
exit "$status"
