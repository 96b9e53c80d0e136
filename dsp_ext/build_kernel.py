"""cffi build script for the C kernel (API mode, out of line): run by the package build."""

from pathlib import Path

from cffi import FFI

CSRC = Path(__file__).resolve().parent / "csrc"
HEADER = CSRC / "esocore_dsp.h"
SOURCES = ["fft.c", "analyze.c", "decode.c"]


def _cdef_text() -> str:
    # cffi's cdef takes plain declarations: drop preprocessor lines.
    lines = HEADER.read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def _source_path(name: str) -> str:
    # setuptools wants sources relative to the project root (it runs there).
    path = CSRC / name
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


ffibuilder = FFI()
ffibuilder.cdef(_cdef_text())
ffibuilder.set_source(
    "dsp_ext._kernel",
    '#include "esocore_dsp.h"',
    sources=[_source_path(name) for name in SOURCES],
    include_dirs=[str(CSRC)],
    # Portable optimisation only: the same build must run on aarch64 boards. No -ffast-math:
    # the kernel relies on isfinite() to refuse NaN/inf input.
    extra_compile_args=["-O3", "-fno-math-errno", "-std=gnu11"],
    libraries=["m"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
