"""The model: from validated inputs to numbers with uncertainty.

The utilization prior (`calibration`), the sampled inputs (`sampling`), the array kernels
(`kernels/`), one training run (`estimate`, its cached `context`, many at once in `batch`), and the
race (`plan` of each deal's capacity tables, `run` of the pipeline, `result` and `summary` of its
statistics; `reference` is the scalar race the kernels are checked against). Imports the inputs
and the base, never the studies, views or runs above it.
"""
