"""Read data/ into validated specs. One clear error per bad row, naming file, line, id and field."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

import csv
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .. import constants as K
from .. import paths as _paths
from ..cache import hash_contents as _hash_contents
from ..errors import InputError, describe_validation_error, first_line, key_path
from ..paths import check_input_file, display
from ..paths import data_dir as default_data_dir
from .limits import MIN_CALIBRATION_ROWS, MIN_MFU
from .specs import Accelerator, CompetingModel, Deal, Site, TrainingRun
from .yamlio import read_yaml

CSV_FILES: dict[str, tuple[str, type[BaseModel]]] = {
    "accelerators": ("accelerators.csv", Accelerator),
    "sites": ("sites.csv", Site),
    "training_runs": ("training_runs.csv", TrainingRun),
    "models": ("models.csv", CompetingModel),
}
DEALS_FILE = "deals.yaml"
#: Largest data table read (the project's are a few hundred KB; Epoch AI's full model database is
#: about 10 MB).
MAX_DATA_BYTES = 64 * 2**20


def suggest(name: str, known) -> str:
    """' (did you mean: a, b?)' for close matches, else the list of what is allowed."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    if close:
        return f"did you mean {', '.join(close)}?"
    shown = ", ".join(known[:30]) + (", ..." if len(known) > 30 else "")
    return f"known: {shown}"


@dataclass(frozen=True)
class Catalog:
    """Every input the estimator and the race read, validated; `frame(name)` gives a DataFrame.

    Attributes
    ----------
    accelerators, sites, training_runs, models, deals : dict of str to spec
        Id -> the validated row of data/accelerators.csv, sites.csv, training_runs.csv, models.csv
        and deals.yaml (pydantic models in `inputs.specs`).
    data_dir : Path
        The folder the files were read from.
    data_hash : str
        A hash of the files' contents, in every result's provenance.
    """

    accelerators: dict[str, Accelerator]
    sites: dict[str, Site]
    training_runs: dict[str, TrainingRun]
    models: dict[str, CompetingModel]
    deals: dict[str, Deal]
    data_dir: Path
    data_hash: str
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    def accelerator(self, accel_id: str, *, flag: str = "--accelerator") -> Accelerator:
        try:
            return self.accelerators[accel_id]
        except KeyError:
            raise InputError(
                f"{flag}: unknown accelerator {accel_id!r}; {suggest(accel_id, self.accelerators)}"
            ) from None

    def site(self, site_id: str, *, flag: str = "--site") -> Site:
        try:
            return self.sites[site_id]
        except KeyError:
            raise InputError(
                f"{flag}: unknown site {site_id!r}; {suggest(site_id, self.sites)}"
            ) from None

    def frame(self, name: str) -> pd.DataFrame:
        """A table of one input file, one row per entry, columns as in the file (deals
        flattened)."""
        import pandas as pd

        if name not in self._frames:
            rows = getattr(self, name)
            records = []
            for item in rows.values():
                record = item.model_dump()
                if name == "deals":
                    record["total_accelerators"] = item.total_accelerators
                    record["campus"] = item.campus_id
                    record["delay_months"] = item.delay_months.describe()
                    pdm = item.power_delay_months
                    record["power_delay_months"] = pdm.describe() if pdm is not None else None
                    record["peak_power_cap_mw"] = (
                        max(s.mw for s in item.power_cap_mw) if item.power_cap_mw else None
                    )
                    for key in ("tranches", "power_cap_mw", "sourced", "assumptions"):
                        record.pop(key)
                records.append(record)
            self._frames[name] = pd.DataFrame.from_records(records)
        return self._frames[name].copy()


def _cell(value: str | None) -> Any:
    if value is None:
        return None
    value = value.strip()
    return value if value != "" else None


def _row_error(err: ValidationError, where: str, line: int, row_id: str | None) -> InputError:
    first = err.errors(include_url=False)[0]
    field_name = key_path(first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    got_text = f", got {got!r}" if not isinstance(got, dict) and field_name != "(top level)" else ""
    ident = f" (id {row_id!r})" if row_id else ""
    return InputError(f"{where} line {line}{ident}, field {field_name!r}: {msg}{got_text}")


def read_csv(
    path: Path, model: type[BaseModel], lines: dict[str, int] | None = None
) -> dict[str, Any]:
    """Rows of a CSV validated by `model`, keyed by id; the first bad row raises InputError.
    `lines`, when given, receives each id's line in the file (for checks across files)."""
    where = display(path)
    if not path.exists():
        raise InputError(f"{where}: file not found (see data/README.md for what it holds)")
    check_input_file(path, "data table (CSV)", MAX_DATA_BYTES)
    try:
        rows, first_seen = _read_rows(path, where, model)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{where}: not a readable UTF-8 CSV table ({first_line(exc)})") from None
    if lines is not None:
        lines.update(first_seen)
    return rows


def _read_rows(
    path: Path, where: str, model: type[BaseModel]
) -> tuple[dict[str, Any], dict[str, int]]:
    # utf-8-sig: a byte-order mark (Excel and some editors write one) is not part of the first
    # column's name; read as text it made every file "miss" its id column.
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        allowed = list(model.model_fields)
        required = [n for n, info in model.model_fields.items() if info.is_required()]
        missing = [c for c in required if c not in header]
        if missing:
            raise InputError(
                f"{where}: missing column(s) {', '.join(missing)}; required: {', '.join(required)}"
            )
        unknown = [c for c in header if c not in allowed]
        if unknown:
            raise InputError(
                f"{where}: unknown column(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}"
            )
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise InputError(f"{where}: column(s) {', '.join(dupes)} appear more than once")
        rows: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        for raw in reader:
            line = reader.line_num
            if None in raw:
                raise InputError(f"{where} line {line}: more cells than the {len(header)} columns")
            values = {k.strip(): _cell(v) for k, v in raw.items()}
            if all(v is None for v in values.values()):
                continue
            values = {k: v for k, v in values.items() if v is not None}
            row_id = values.get("id")
            try:
                item = model.model_validate(values)
            except ValidationError as err:
                raise _row_error(err, where, line, row_id) from None
            if item.id in rows:
                raise InputError(
                    f"{where} line {line}: duplicate id {item.id!r} (first at line "
                    f"{first_seen[item.id]}); ids must be unique"
                )
            problem = None
            if isinstance(item, TrainingRun):
                problem = item.hours_bound_problem() or item.calibration_rule_violation()
            if problem is not None:
                field_name, msg = problem
                raise InputError(
                    f"{where} line {line} (id {item.id!r}), field {field_name!r}: {msg}"
                )
            rows[item.id] = item
            first_seen[item.id] = line
    if not rows:
        raise InputError(f"{where}: no rows")
    return rows, first_seen


def read_deals(path: Path) -> dict[str, Deal]:
    where = display(path)
    doc = read_yaml(path, what="file (see data/README.md for what it holds)")
    if not isinstance(doc, dict) or not isinstance(doc.get("deals"), list):
        raise InputError(f"{where}: expected a top-level key 'deals' holding a list of deals")
    deals: dict[str, Deal] = {}
    for i, raw in enumerate(doc["deals"]):
        ident = raw.get("id") if isinstance(raw, dict) else None
        try:
            deal = Deal.model_validate(raw)
        except ValidationError as err:
            label = f"{where}: deals[{i}]" + (f" (id {ident!r})" if ident else "")
            line = describe_validation_error(err, label)
            raise InputError(line) from None
        if deal.id in deals:
            raise InputError(f"{where}: deals[{i}]: duplicate id {deal.id!r}; ids must be unique")
        problem = deal.date_problem()
        if problem is not None:
            field_name, message = problem
            raise InputError(f"{where}: deals[{i}].{field_name} (id {deal.id!r}): {message}")
        deals[deal.id] = deal
    return deals


def _hash_files(paths: list[Path]) -> str:
    return _hash_contents({path: path.read_bytes() for path in paths})


def _implied_utilization_problem(run: TrainingRun, chip: Accelerator) -> str | None:
    """Why a run's hours cannot be, when they imply a utilization above 1 of the chip's peak at the
    run's precision for the model FLOP they cover (a figure in the wrong unit, a count that misses
    a factor); else None. An upper bound on the hours is a lower bound on the utilization, so the
    bound itself would say the impossible."""
    flop = run.hours_flop
    if run.gpu_hours is None or flop is None:
        return None
    precision = run.precision or "bf16"
    peak = chip.peak_fp8_flop_per_s if precision == "fp8" else None
    peak = peak or chip.peak_bf16_flop_per_s
    utilization = flop / (run.gpu_hours * K.SECONDS_PER_HOUR * peak)
    if utilization <= 1.0:
        return None
    bound = "at least " if run.hours_bound == "upper" else ""  # an upper bound on the hours
    rule = (
        f"; a calibration row's implied MFU is from {MIN_MFU:g} to 1"
        if run.role == "calibration"
        else ""
    )
    return (
        f"{run.gpu_hours:g} accelerator-hours on {chip.id} for {flop:.3g} model FLOP imply an MFU "
        f"of {bound}{utilization:.3g} of the {precision} dense peak, and it cannot exceed 1{rule} "
        "(check the units: hours, not thousands or millions; the accelerator count; the tokens "
        "they cover)"
    )


def _check_references(cat: Catalog, run_lines: dict[str, int] | None = None) -> None:
    where_runs = display(cat.data_dir / "training_runs.csv")
    for run in cat.training_runs.values():
        if run.accelerator is not None and run.accelerator not in cat.accelerators:
            line = f" line {run_lines[run.id]}" if run_lines and run.id in run_lines else ""
            raise InputError(
                f"{where_runs}{line} (id {run.id!r}), field 'accelerator': unknown accelerator "
                f"{run.accelerator!r}; {suggest(run.accelerator, cat.accelerators)}"
            )
        if run.accelerator is not None:
            problem = _implied_utilization_problem(run, cat.accelerators[run.accelerator])
            if problem is not None:
                line = f" line {run_lines[run.id]}" if run_lines and run.id in run_lines else ""
                raise InputError(
                    f"{where_runs}{line} (id {run.id!r}), field 'gpu_hours': {problem}"
                )
    _check_calibration_rows(cat, where_runs, run_lines or {})
    where_deals = display(cat.data_dir / DEALS_FILE)
    for i, deal in enumerate(cat.deals.values()):
        if deal.accelerator not in cat.accelerators:
            raise InputError(
                f"{where_deals}: deals[{i}].accelerator (id {deal.id!r}): unknown accelerator "
                f"{deal.accelerator!r}; {suggest(deal.accelerator, cat.accelerators)}"
            )
        if deal.region not in cat.sites:
            raise InputError(
                f"{where_deals}: deals[{i}].region (id {deal.id!r}): unknown site {deal.region!r}; "
                f"{suggest(deal.region, cat.sites)}"
            )


def _check_calibration_rows(cat: Catalog, where: str, lines: dict[str, int]) -> None:
    """The rows the MFU prior is fitted on: at least MIN_CALIBRATION_ROWS of them, each implying an
    MFU (6 N_active D of the tokens its hours cover, over hours x 3600 x the dense peak at its
    precision) in [MIN_MFU, 1]. One hours typo (1.3 for 1.3e6) moved the H100 prior's P50 from 25%
    to 50%; with fewer than five rows the fit failed with a traceback."""
    calibration = [run for run in cat.training_runs.values() if run.role == "calibration"]
    if len(calibration) < MIN_CALIBRATION_ROWS:
        raise InputError(
            f"{where}: {len(calibration)} calibration row(s) (role calibration); the MFU prior is "
            f"fitted on at least {MIN_CALIBRATION_ROWS} (data/README.md: the calibration rule)"
        )
    for run in calibration:
        flop, chip = run.hours_flop, cat.accelerators.get(run.accelerator)
        if flop is None or chip is None or run.gpu_hours is None:
            continue
        precision = run.precision or "bf16"
        peak = chip.peak_flop_per_s(precision if chip.peak_fp8_flop_per_s else "bf16")
        mfu = flop / (run.gpu_hours * 3600.0 * peak)
        if not MIN_MFU <= mfu <= 1.0:
            line = f" line {lines[run.id]}" if run.id in lines else ""
            unit = "thousands or millions" if mfu > 1.0 else "seconds"
            raise InputError(
                f"{where}{line} (id {run.id!r}), field 'gpu_hours': {run.gpu_hours:g} "
                f"accelerator-hours for {flop:.3g} FLOP on {chip.id} ({precision}) imply an MFU "
                f"of {mfu:.3g}; a calibration row's implied MFU is from {MIN_MFU:g} to 1 (check "
                f"the units: hours, not {unit}; counts of parameters and tokens)"
            )


_CACHE: dict[tuple, Catalog] = {}


def load_catalog(data_dir: str | Path | None = None) -> Catalog:
    """Load and validate every file in data/; cached until a file changes.

    Cached in this process by the files' times and sizes, and between processes by their contents
    (`_disk`), so a repeated call costs almost nothing.

    Parameters
    ----------
    data_dir : str or Path, optional
        A folder with the same files as data/ (default: the project's data/, or
        ``$COMPUTE_RACE_DATA_DIR``).

    Returns
    -------
    Catalog
        Accelerators, sites, training runs, competing models and deals, each validated;
        ``frame(name)`` gives one of them as a DataFrame.

    Raises
    ------
    InputError
        One per bad row, naming the file, line, id and field.
    """
    root = Path(data_dir).resolve() if data_dir is not None else default_data_dir()
    paths = [root / name for name, _ in CSV_FILES.values()] + [root / DEALS_FILE]
    key = (str(root),) + tuple(
        (p.stat().st_mtime_ns, p.stat().st_size) if p.exists() else None for p in paths
    )
    if key in _CACHE:
        return _CACHE[key]
    cache_file = content_hash = None
    try:
        contents = {p: p.read_bytes() for p in paths}
    except OSError:  # a missing file: the loader below names it
        contents = None
    if contents is not None:
        content_hash = _hash_contents(contents)
        cache_file = _disk(root, content_hash)
        cat = _read_cached(cache_file, root)
        if cat is not None:
            _CACHE.clear()
            _CACHE[key] = cat
            return cat
    run_lines: dict[str, int] = {}
    tables = {
        name: read_csv(root / fname, model, run_lines if name == "training_runs" else None)
        for name, (fname, model) in CSV_FILES.items()
    }
    deals = read_deals(root / DEALS_FILE)
    cat = Catalog(**tables, deals=deals, data_dir=root, data_hash=_hash_files(paths))
    _check_references(cat, run_lines)
    _CACHE.clear()
    _CACHE[key] = cat
    if (
        cache_file is not None and cat.data_hash == content_hash
    ):  # not edited while it was validated
        _write_cached(cache_file, cat)
    return cat


def _disk(root: Path, data_hash: str) -> Path:
    """The cache file of a validated catalog: keyed by the data's contents, the folder (messages
    name it), and the code and library that validate and pickle it, so any change revalidates.
    Reading it skips the YAML parser and pydantic validation (about 0.4 s of every CLI call)."""
    import pydantic

    return _paths.cache_file(
        "catalog",
        data_hash,
        [str(root), pydantic.VERSION],
        (
            "inputs/catalog.py",
            "inputs/specs.py",
            "inputs/limits.py",
            "constants.py",
            "inputs/yamlio.py",
            "cache.py",
        ),
        "pickle",
    )


def _read_cached(path: Path, root: Path) -> Catalog | None:
    """The catalog pickled at `path`, or None when there is none or it is unreadable (then the
    files are validated again)."""
    cat = _paths.read_pickle_cache(path, Catalog)
    return cat if cat is not None and cat.data_dir == root else None


def _write_cached(path: Path, cat: Catalog) -> None:
    import pickle

    _paths.write_cache(path, pickle.dumps(cat, protocol=pickle.HIGHEST_PROTOCOL))
