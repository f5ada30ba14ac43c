"""Runs: the ways the project is run, on top of everything else.

The command line (`cli`, behind ``python -m analysis``), the HTML report of every notebook
(`report`), papermill sweeps (`sweep/`), the benchmark (`bench`), how a kernel is started for
papermill (`papermill`), each notebook's declared parameters (`parameters`) and what a notebook's
cells call (`cells`). May import every wing; nothing imports it but the package's own entry points.
"""
