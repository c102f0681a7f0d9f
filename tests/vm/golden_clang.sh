#!/usr/bin/env bash
# golden_clang.sh CC SOURCE_DIR WORK_DIR - builds consent-vm and its test suites with
# another compiler (clang; the main build is gcc), in both dispatch builds (computed goto
# and switch), and runs them: the golden test must give tests/vm/golden.txt byte for byte,
# the file the gcc builds match, so the VM's results do not depend on the compiler.
set -euo pipefail
cc=$1
src=$2
work=$3
unset TRIALREG_UPDATE_GOLDEN
mkdir -p "$work"
cflags=(-std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
        -I"$src/consent-vm" "-DTRIALREG_SOURCE_DIR=\"$src\"" "-DTRIALREG_BINARY_DIR=\"$work\"")
vm=("$src"/consent-vm/cvm_module.c "$src"/consent-vm/cvm_vm.c "$src"/consent-vm/cvm_asm.c
    "$src"/consent-vm/cvm_disasm.c)
tests=("$src"/tests/vm/vm_testlib.c "$src"/tests/vm/test_opcodes.c "$src"/tests/vm/test_verifier.c
       "$src"/tests/vm/test_runtime.c "$src"/tests/vm/test_asm.c "$src"/tests/vm/test_golden.c)
read -r -a criterion <<< "$(pkg-config --cflags --libs criterion)"
echo "compiler: $("$cc" --version | head -1)"
for build in goto switch; do
    extra=()
    [ "$build" = switch ] && extra=(-DCVM_DISPATCH_SWITCH)
    "$cc" "${cflags[@]}" "${extra[@]}" "${vm[@]}" "${tests[@]}" "${criterion[@]}" -o "$work/test_vm_$build"
    "$work/test_vm_$build" --jobs 1 --filter 'golden/*' ||
        { echo "FAIL: the $build build with $cc differs from tests/vm/golden.txt" >&2; exit 1; }
    "$work/test_vm_$build" --jobs 1 ||
        { echo "FAIL: the VM suite built with $cc ($build) fails" >&2; exit 1; }
done
echo "golden with $cc: OK (both dispatch builds match tests/vm/golden.txt)"
