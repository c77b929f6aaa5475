"""Build of the optional compiled statistics kernel; everything else is in pyproject.toml.

The extension is optional: when no C compiler is available the build goes on without it and
livetrace uses its numpy implementation of the same statistics.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "livetrace.analysis._kernels",
            ["src/livetrace/analysis/_kernels.c"],
            optional=True,
        )
    ]
)
