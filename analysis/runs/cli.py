"""Command line: ``python -m analysis`` (also installed as ``compute-race``).

Exit codes: 0 success; 2 bad input (one line ``error: ...`` on stderr); 1 unexpected internal error.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import signal
import sys
import threading
import traceback

from ..errors import InputError

#: What argparse should read as a negative number, not a flag: scientific notation and
#: underscores included (argparse's own pattern takes `-1` and `-.5` only, so `--flop -1e25` was
#: refused as "expected one argument" instead of naming the range).
_NEGATIVE_NUMBER = re.compile(
    r"^-(?:(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][-+]?\d+)?|inf|infinity|nan)$", re.IGNORECASE
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad flags as InputError (one line, exit 2) instead of usage + exit,
    and passes a negative number to its flag, whose range check then names what is allowed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str):
        raise InputError(message)


def _print_json(payload) -> None:
    print(json.dumps(payload, indent=2, allow_nan=False))


#: Flags of one configuration: with --batch they come from the CSV's columns instead.
_CONFIG_FLAGS = (
    "params",
    "active_params",
    "tokens",
    "flop",
    "accelerator",
    "accelerators",
    "mfu",
    "goodput",
    "gpu_hours",
    "pue",
    "site",
    "price_per_hour",
)


def _cmd_estimate_batch(args) -> int:
    from ..model.batch import estimate_many, read_configs, to_text

    given = [f for f in _CONFIG_FLAGS if getattr(args, f) is not None] + (
        ["precision"] if args.precision else []
    )
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise InputError(f"{flag}: not allowed with --batch; give it as a column of the CSV")
    frame = read_configs(args.batch)
    result = estimate_many(frame, draws=args.draws, seed=args.seed, where=args.batch)
    text = to_text(result, args.format)
    print(text)
    return 0


def _cmd_estimate(args) -> int:
    if args.batch is not None:
        return _cmd_estimate_batch(args)
    if args.format == "csv":
        raise InputError("--format: csv is for --batch; one estimate prints table or json")
    if args.accelerator is None:
        raise InputError(
            "--accelerator: required (an accelerator id from data/accelerators.csv), or give "
            "--batch"
        )
    from ..model.estimate import estimate

    result = estimate(
        params=args.params,
        active_params=args.active_params,
        tokens=args.tokens,
        flop=args.flop,
        accelerator=args.accelerator,
        accelerators=args.accelerators,
        precision=args.precision or "bf16",
        mfu=args.mfu,
        goodput=args.goodput,
        gpu_hours=args.gpu_hours,
        pue=args.pue,
        site=args.site,
        price_per_hour=args.price_per_hour,
        draws=args.draws,
        seed=args.seed,
        backend=args.backend,
    )
    if args.format == "json":
        _print_json(result.to_dict())
    else:
        print(result.to_table())
    return 0


def _cmd_simulate(args) -> int:
    from ..model.run import simulate

    # Counts arrive as text; simulate reads them with the one whole-number parser (limits).
    result = simulate(
        args.scenario,
        draws=args.draws,
        seed=args.seed,
        backend=args.backend,
        progress=None,
    )
    if args.format == "json":
        _print_json(result.to_dict())
    elif args.format == "csv":
        sys.stdout.write(result.summary.to_csv(index=False))
    else:
        print(result.to_table())
    return 0


def _delegate(module: str):
    """Handler that imports `analysis.<module>` only when its command runs (fast CLI start)."""

    def handler(args) -> int:
        import importlib

        return importlib.import_module(f"analysis.{module}").run_cli(args)

    return handler


def build_parser() -> argparse.ArgumentParser:
    from ..constants import DEFAULT_ESTIMATE_DRAWS

    parser = _Parser(
        prog="compute-race",
        description="What does a capacity deal buy in the race to train the next frontier model?",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND"
    )

    est = sub.add_parser(
        "estimate",
        help="one training run on a fixed accelerator type",
        description="FLOP, accelerator-hours, wall-clock, energy, cost and emissions of one run, "
        "with "
        "uncertainty. Numbers accept scientific notation (405e9).",
    )
    est.add_argument("--params", metavar="N", help="total parameters")
    est.add_argument(
        "--active-params", metavar="N", help="active parameters per token (MoE); default --params"
    )
    est.add_argument("--tokens", metavar="D", help="training tokens")
    est.add_argument(
        "--flop", metavar="C", help="training FLOP (1e15 to 1e32), instead of --params/--tokens"
    )
    est.add_argument(
        "--accelerator",
        metavar="ID",
        help="accelerator id (data/accelerators.csv); required without --batch",
    )
    est.add_argument(
        "--accelerators", metavar="COUNT", help="cluster size; needed for wall-clock days"
    )
    est.add_argument("--precision", default=None, help="bf16 (default) or fp8")
    est.add_argument(
        "--mfu", metavar="X", help="fix MFU in [0.001, 1] instead of the calibrated prior"
    )
    est.add_argument("--goodput", metavar="X", help="fix goodput in [0.01, 1] instead of its range")
    est.add_argument(
        "--gpu-hours", metavar="H", help="known accelerator-hours: MFU is then not sampled"
    )
    est.add_argument("--pue", metavar="X", help="fix PUE in [1, 3] instead of the site's")
    est.add_argument("--site", metavar="ID", help="region in data/sites.csv (default us-average)")
    est.add_argument("--price-per-hour", metavar="USD", help="fix USD per accelerator-hour")
    est.add_argument(
        "--batch",
        metavar="CONFIGS.csv",
        default=None,
        help="estimate every row of a CSV whose columns are named like these flags (params, "
        "tokens, "
        "accelerator, accelerators, active_params, flop, precision, mfu, goodput, gpu_hours, pue, "
        "site, price_per_hour); one output row per input row",
    )
    _add_mc_flags(est, default_draws=DEFAULT_ESTIMATE_DRAWS)
    est.add_argument(
        "--format",
        default="table",
        choices=("table", "json", "csv"),
        help="table (default) or json; csv with --batch",
    )
    est.set_defaults(func=_cmd_estimate)

    sim = sub.add_parser(
        "simulate",
        help="the race between competing models under their capacity deals",
        description="Monte Carlo race of a scenario (default scenarios/default.yaml): "
        "time-to-train, "
        "P(first), cost, energy, peak power and emissions per competitor.",
    )
    sim.add_argument(
        "scenario",
        nargs="?",
        default=None,
        metavar="SCENARIO.yaml",
        help="scenario file (default scenarios/default.yaml)",
    )
    _add_mc_flags(sim, default_draws=None)
    sim.add_argument("--format", default="table", choices=("table", "json", "csv"))
    sim.set_defaults(func=_cmd_simulate)

    swp = sub.add_parser(
        "sweep",
        help="run a notebook over a grid of parameters with papermill",
        description="Papermill sweep: one executed notebook per point, resumable, "
        "failure-isolated, "
        "on a local process pool or a Dask cluster.",
    )
    swp.add_argument("sweep", metavar="SWEEP.yaml", help="sweep file (see sweeps/README.md)")
    swp.add_argument(
        "--workers", metavar="N", default=None, help="local worker processes (default 1)"
    )
    swp.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="Dask scheduler address (tcp://host:8786), or 'local' for a local Dask cluster",
    )
    swp.add_argument(
        "--out", metavar="DIR", default=None, help="results folder (default results/<sweep name>)"
    )
    swp.add_argument("--resume", action="store_true", help="skip points already complete")
    swp.add_argument(
        "--force",
        action="store_true",
        help="write into an existing folder that is not a sweep's (only the sweep's own files are "
        "written; none is overwritten)",
    )
    swp.add_argument(
        "--max-points",
        metavar="N",
        default=None,
        help="allow a sweep of more than 1,000 points (the default limit) up to N",
    )
    swp.set_defaults(func=_delegate("runs.sweep"))

    bt = sub.add_parser(
        "backtest",
        help="how well the method reproduces published training runs",
        description="Cross-validated backtest of accelerator-hours on the calibration runs (leave "
        "one "
        "organization out, leave one accelerator generation out, each year from earlier years; "
        "also leave "
        "one run out), beside naive 6ND at MFU 0.40 and the best single constant, and the energy "
        "model.",
    )
    bt.add_argument("--format", default="table", choices=("table", "json"))
    bt.set_defaults(func=_delegate("studies.backtest"))

    hc = sub.add_parser(
        "hindcast",
        help="the race as of 2024-01 and 2024-06, against what happened",
        description="Hindcast: races as of past dates (scenarios/hindcast_*.yaml), each lab's next "
        "record pre-training run planned as labs plan runs, its predicted release and run length "
        "against the actual release, beside a naive cadence baseline.",
    )
    _add_mc_flags(hc, default_draws=None)
    hc.add_argument("--format", default="table", choices=("table", "json"))
    hc.set_defaults(func=_delegate("studies.hindcast"))

    bench = sub.add_parser(
        "bench",
        help="time the race kernel on NumPy (and CuPy when usable)",
        description="Scenario-steps per second of the race kernel (and which CPU fast path ran), "
        "against the scalar reference; simulate's stages and end-to-end ratio; batch and single "
        "estimate rates; memory bandwidth and peak memory.",
    )
    bench.add_argument(
        "--draws", metavar="K", default=None, help="draws to time (default 1,000,000)"
    )
    bench.add_argument("--backend", default=None, help="auto (all usable), numpy or cupy")
    bench.add_argument("--format", default="table", choices=("table", "json"))
    bench.set_defaults(func=_delegate("runs.bench"))

    rep = sub.add_parser(
        "report",
        help="execute every notebook and write an HTML report",
        description="Runs the notebooks with papermill into results/report-<timestamp>/ with HTML "
        "and "
        "an index, then prints the headline race table.",
    )
    rep.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="report folder (default results/report-<timestamp>)",
    )
    rep.add_argument(
        "--update-readme",
        action="store_true",
        help="fill README.md's <!-- results:NOTEBOOK.METRIC --> markers from this run",
    )
    rep.set_defaults(func=_delegate("runs.report"))
    return parser


def _add_mc_flags(parser, *, default_draws) -> None:
    from ..constants import MAX_DRAWS

    parser.add_argument(
        "--draws",
        metavar="K",
        default=default_draws,
        help=f"Monte Carlo draws, 1 to {MAX_DRAWS:,}"
        + ("" if default_draws else " (default: the scenario's)"),
    )
    parser.add_argument(
        "--seed",
        metavar="S",
        default=None if default_draws is None else 0,
        help="seed; fixes every draw" + ("" if default_draws else " (default: the scenario's)"),
    )
    parser.add_argument(
        "--backend",
        default=None,
        help="auto (default: CuPy if a GPU is usable), numpy or cupy; also $COMPUTE_RACE_BACKEND",
    )


def _no_empty_strings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """An empty or blank value (`--site ''`) is an error naming the flag, never a silent default."""
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    actions = {a.dest: a for a in commands.choices[args.command]._actions}
    for dest, value in vars(args).items():
        if isinstance(value, str) and not value.strip():
            action = actions.get(dest)
            flag = (
                action.option_strings[-1]
                if action is not None and action.option_strings
                else (action.metavar if action is not None and action.metavar else dest)
            )
            raise InputError(f"{flag}: empty value; give one or leave the flag out")


def _os_error_line(exc: OSError) -> str:
    """One line for an operating-system error on a user's path (read-only folder, full disk,
    ...)."""
    from ..paths import display

    where = exc.filename if exc.filename is None else display(exc.filename)
    reason = exc.strerror or type(exc).__name__
    return f"{where}: {reason}" if where else reason


def _quiet_broken_pipe() -> int:
    """`... | head` closed our stdout: stop quietly like other Unix tools (no message, exit 141)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit cannot fail again
    except (OSError, ValueError):
        pass
    return 128 + getattr(signal, "SIGPIPE", 13)


#: Seconds the clean-up after Ctrl-C may take (stopping sweep workers, threads, files) before the
#: command leaves anyway with the same one line and exit code: an interrupted command never hangs.
INTERRUPT_GRACE_S = 10.0
#: The commands whose clean-up after Ctrl-C stops worker processes (where a stalled pool shutdown
#: was seen; `report` runs its notebooks in one); the others keep Python's own Ctrl-C, so notebook
#: kernels and asyncio see what they expect.
DEADLINE_COMMANDS = ("sweep", "report")
_interrupt_lock = threading.Lock()
_interrupt_said = False


def _say_interrupted() -> None:
    """'error: interrupted' on stderr, once per process (the clean-up and the deadline may race)."""
    global _interrupt_said
    with _interrupt_lock:
        if not _interrupt_said:
            _interrupt_said = True
            print("error: interrupted", file=sys.stderr, flush=True)


def _leave_interrupted() -> None:
    _say_interrupted()
    os._exit(130)  # the OS drops the sweep's folder lock; sweep workers die with their parent


def _on_interrupt(signum, frame) -> None:
    """Ctrl-C: start the clean-up's deadline, then interrupt as Python does (a second Ctrl-C is
    plain)."""
    deadline = threading.Timer(INTERRUPT_GRACE_S, _leave_interrupted)
    deadline.daemon = True
    deadline.start()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    global _interrupt_said
    _interrupt_said = False
    parser = build_parser()
    previous = None
    try:
        args = parser.parse_args(argv)
        _no_empty_strings(parser, args)
        if args.command in DEADLINE_COMMANDS:
            try:
                previous = signal.signal(signal.SIGINT, _on_interrupt)
            except (
                ValueError
            ):  # not the main thread (an in-process caller): Python's own Ctrl-C stays
                pass
        return args.func(args)
    except InputError as exc:
        message = " ".join(str(exc).split())
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _say_interrupted()
        return 130
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            return _quiet_broken_pipe()
        # a path the user gave or owns (read-only results/, full disk, missing folder): not a bug
        print(f"error: {' '.join(_os_error_line(exc).split())}", file=sys.stderr)
        return 2
    except MemoryError:
        print(
            "error: out of memory; use fewer draws or a coarser time_step_months", file=sys.stderr
        )
        return 2
    except Exception:
        traceback.print_exc()
        print(
            "error: internal error (a bug); please report it with the traceback above",
            file=sys.stderr,
        )
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
