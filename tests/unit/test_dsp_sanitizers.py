"""The C kernel under AddressSanitizer + UBSan and valgrind, through tests/c/kernel_harness.c.

The harness links dsp_ext/csrc/*.c directly (no Python in between), runs plans for every frame
length and both windows on random input, every decoder on every input length up to 200 bytes
(including empty and mid-word ones) and eso_analyze on NaN/inf input, with every output buffer
allocated at exactly its documented size; it also checks that the hot path allocates nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CSRC = ROOT / "dsp_ext" / "csrc"
HARNESS = ROOT / "tests" / "c" / "kernel_harness.c"
SOURCES = [CSRC / "fft.c", CSRC / "analyze.c", CSRC / "decode.c"]
WRAP = "-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc"
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]

GCC = shutil.which("gcc")
VALGRIND = shutil.which("valgrind")
needs_gcc = pytest.mark.skipif(
    GCC is None, reason="gcc is not installed (.ci/bootstrap installs it)"
)


def build(out: Path, *flags: str) -> Path:
    cmd = [GCC, "-std=gnu11", *flags, f"-I{CSRC}", str(HARNESS), *map(str, SOURCES), WRAP, "-lm"]
    proc = subprocess.run([*cmd, "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out


def assert_clean_run(proc: subprocess.CompletedProcess) -> None:
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report[-4000:]
    assert "kernel_harness:" in proc.stdout and " 0 failures" in proc.stdout, report[-4000:]
    for marker in (
        "AddressSanitizer",
        "LeakSanitizer",
        "runtime error",
        "Invalid read",
        "Invalid write",
    ):
        assert marker not in report, report[-4000:]


@needs_gcc
def test_kernel_under_address_and_undefined_behaviour_sanitizers(tmp_path):
    exe = build(tmp_path / "harness_asan", "-O1", "-g", *SANITIZE)
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:halt_on_error=1"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300, env=env)
    assert_clean_run(proc)


@needs_gcc
@pytest.mark.skipif(VALGRIND is None, reason="valgrind is not installed (.ci/bootstrap --test)")
def test_kernel_under_valgrind(tmp_path):
    """Frame lengths up to 8192 keep this to a few seconds; the full 65536 run was done by
    hand (see docs/benchmarks.md)."""
    exe = build(tmp_path / "harness_plain", "-O1", "-g")
    proc = subprocess.run(
        [VALGRIND, "-q", "--error-exitcode=1", "--leak-check=full", str(exe), "8192"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert_clean_run(proc)


@needs_gcc
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_kernel_is_warning_free_portable_c11(tmp_path, source):
    """Strict ISO C11 with every common warning as an error: what an aarch64 board's compiler
    will also accept (no GNU extensions, no x86 intrinsics)."""
    cmd = [GCC, "-std=c11", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O2", f"-I{CSRC}"]
    proc = subprocess.run(
        [*cmd, "-c", str(source), "-o", str(tmp_path / "k.o")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
