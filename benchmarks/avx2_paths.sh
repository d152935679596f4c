#!/usr/bin/env bash
# The test suite (bash .ci/run, the README's test command) on the floating-point paths of an
# AVX2-only x86 CPU such as the 2-core AMD EPYC (Zen 3) where tests/test_ma.py once failed,
# run on any newer x86 machine:
#   TF_ENABLE_ONEDNN_OPTS=0   TensorFlow 2.21 turns oneDNN on by default only for CPUs with
#                             AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX (tensorflow/core/util/port.cc),
#                             so an AVX2-only CPU runs its Eigen kernels
#   ONEDNN_MAX_CPU_ISA=AVX2   whatever still calls oneDNN stays on AVX2
#   NPY_DISABLE_CPU_FEATURES  NumPy's AVX-512 kernels off (X86_V4 and above)
#   OPENBLAS_CORETYPE=Haswell OpenBLAS's AVX2 kernels (NumPy's and SciPy's linear algebra)
# Numerics, not speed: the AVX2 machine's own slowness (about 3.4x for convolutions) is not
# reproduced. Run from a clean clone with ../shared beside it, as CI does.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; AVX2 paths forced"
export TF_ENABLE_ONEDNN_OPTS=0 ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell
export NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"
started=$(date +%s)
status=0
bash .ci/run || status=$?
echo "wall $(( $(date +%s) - started )) s, exit $status"
exit "$status"
