"""Pure array maths for NumPy, CuPy and array-api-strict (`xp = array_namespace(x)`).

Kernels never read files, print, or import numpy/cupy; host-side sampling and validation happen
before they are called. Documented exceptions, NumPy only: the race's CPU fast path `race_cpu`
(the array-API kernel `race.launch_runs` evaluated on the draws still waiting to launch), behind
`analysis.model.run.race_kernel` with the same contract; and `native`, which loads the compiled
helpers of `native.c` (simulate's draws and quantile selection, built at install time by
`native_build`).
"""
