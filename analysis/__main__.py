"""``python -m analysis``: the command line, in `analysis.runs.cli`."""

from .runs.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
