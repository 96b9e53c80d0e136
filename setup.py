"""Build hook: compiles the dsp_ext C kernel with cffi (API mode, out of line)."""

from setuptools import setup

setup(cffi_modules=["dsp_ext/build_kernel.py:ffibuilder"])
