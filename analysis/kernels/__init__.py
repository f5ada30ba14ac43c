"""Pure array maths for NumPy, CuPy and array-api-strict (`xp = array_namespace(x)`).

Kernels never read files, print, or import numpy/cupy; host-side sampling and validation happen
before they are called. Two documented exceptions are backend-specific fast paths behind
`analysis.simulate.race_kernel` with the same contract as `race.race_tracks`: `race_numpy` (NumPy
only, imports numpy; it runs the compiled C kernel `race_cpu.c`, built by `race_cpu`, where it is
available, and its own NumPy step loop otherwise) and `race_fused` (a CUDA kernel for CuPy; numpy
packs its arguments on the host and cupy is imported only when it runs).
"""
