"""Pure array maths for NumPy, CuPy and array-api-strict (`xp = array_namespace(x)`).

Kernels never read files, print, or import numpy/cupy; host-side sampling and validation happen
before they are called.
"""
