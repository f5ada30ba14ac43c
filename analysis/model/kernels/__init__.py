"""Pure array maths for NumPy, CuPy and array-api-strict (`xp = array_namespace(x)`).

Kernels never read files, print, or import numpy/cupy; host-side sampling and validation happen
before they are called. One documented exception: the CPU fast path `race_cpu` (NumPy only; it runs
the compiled `race_cpu.c`, built at install time by `race_cpu_build`), behind
`analysis.model.run.race_kernel` with the same contract as `race.race_tracks`.
"""
