"""Rent versus build for one accelerator type: cost per useful accelerator-hour and the break-even.

The race charges owned hardware by the hours a run uses (Cottier et al. 2024's amortized method,
`kernels.compute.owned_cost_usd`), which is right for a fleet kept busy all its life. Whether owning
beats renting depends on how busy the fleet is: with a fraction f of its life doing useful work, an
owned accelerator costs (hardware + facility per hour) / f + energy per useful hour, against a
rental rate paid only for the hours used (on-demand or short contracts). The break-even utilization
f* = (hardware + facility per hour) / (rental rate - energy per hour) is the share of its life an
owned fleet must be busy to beat renting. Every figure comes from the catalog and the scenario's
uncertainty ranges, drawn as in `estimate`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import constants as K
from ..errors import InputError
from ..inputs.catalog import Catalog, load_catalog
from ..inputs.scenario import Uncertainty
from ..model.kernels import compute as kc
from ..model.sampling import draw
from ..model.summary import QUANTILES, quantiles

if TYPE_CHECKING:
    import pandas as pd

#: Fleet utilizations (share of the hardware's life doing useful work) on the curves' x axis.
UTILIZATION_GRID = np.round(np.linspace(0.1, 1.0, 37), 4)


def rent_vs_build_accelerators(catalog: Catalog | None = None) -> list[str]:
    """Accelerator ids with both a purchase price and a rental price in data/accelerators.csv.

    Parameters
    ----------
    catalog : Catalog, optional
        The inputs to use; default `load_catalog()`.

    Returns
    -------
    list of str
        The ids, in the file's order: the accelerators rent versus build can compare.
    """
    catalog = catalog or load_catalog()
    return [
        a.id
        for a in catalog.accelerators.values()
        if a.purchase_price_usd is not None and a.rental_usd_per_hour is not None
    ]


def hourly_costs(
    accelerator: str,
    *,
    catalog: Catalog | None = None,
    site: str | None = None,
    pue: float | None = None,
    draws: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per draw: USD per accelerator-hour of renting, and of owned hardware, facility and energy.

    Parameters
    ----------
    accelerator : str
        An id of `rent_vs_build_accelerators` (it needs both a purchase and a rental price).
    catalog : Catalog, optional
        The inputs to use; default `load_catalog()`.
    site : str, optional
        Region id in data/sites.csv (default ``"us-average"``): PUE and electricity price.
    pue : float, optional
        One PUE in [1, 3]; 0 or None: the site's PUE plus the sampled site variation.
    draws : int
        Monte Carlo draws.
    seed : int
        Seed of every draw.

    Returns
    -------
    pandas.DataFrame
        One row per draw: rent_usd_per_hour (rental price x price factor), hardware_usd_per_hour
        (price x (1 + interconnect) over the sampled life), facility_usd_per_hour (build cost per MW
        of the server's facility power over the facility life), energy_usd_per_hour (average power x
        PUE x electricity price), break_even_utilization (may exceed 1: owning never pays), pue.

    Raises
    ------
    InputError
        For an accelerator without both prices, or an unknown site.
    """
    import pandas as pd

    catalog = catalog or load_catalog()
    chip = catalog.accelerator(accelerator, flag="accelerator")
    if chip.purchase_price_usd is None or chip.rental_usd_per_hour is None:
        raise InputError(
            f"accelerator: {chip.id!r} lacks a purchase or rental price in data/accelerators.csv; "
            f"rent vs build needs both: {', '.join(rent_vs_build_accelerators(catalog))}"
        )
    region = catalog.site(site or K.DEFAULT_SITE, flag="site")
    unc = Uncertainty()

    def sample(name, dist):
        return draw(dist, seed, f"rent-vs-build/{name}", 0, draws)

    if pue:
        if not 1.0 <= pue <= 3.0:
            raise InputError(f"pue: expected 0 (the site's) or a number in [1, 3], got {pue!r}")
        pue_draws = np.full(draws, float(pue))
    else:
        pue_draws = np.maximum(region.pue + sample("pue_delta", unc.pue_delta), 1.0)
    life = sample("hardware_life_years", unc.hardware_life_years)
    build = sample("build_cost_usd_per_mw", unc.build_cost_usd_per_mw)
    rent = chip.rental_usd_per_hour * sample("price_factor", unc.price_factor)
    one_hour = np.ones(draws)
    energy_mwh = kc.energy_mwh(
        one_hour, kc.average_power_w(chip.server_power_w, chip.server_power_fraction, pue_draws)
    )
    energy = energy_mwh * region.electricity_usd_per_mwh
    hardware = kc.hardware_usd_per_hour(chip.purchase_price_usd, life)
    # Facility power at rating (server W x PUE) sets the building's size, as in the race's owned
    # cost.
    facility = kc.facility_usd_per_hour(build, chip.server_power_w, pue_draws)
    margin = rent - energy
    break_even = np.where(
        margin > 0, (hardware + facility) / np.where(margin > 0, margin, 1.0), np.inf
    )
    return pd.DataFrame(
        {
            "rent_usd_per_hour": rent,
            "hardware_usd_per_hour": hardware,
            "facility_usd_per_hour": facility,
            "energy_usd_per_hour": energy,
            "break_even_utilization": break_even,
            "pue": pue_draws,
        }
    )


def rent_vs_build(
    accelerator: str = "h100-sxm",
    *,
    catalog: Catalog | None = None,
    site: str | None = None,
    pue: float | None = None,
    draws: int = 2000,
    seed: int = 0,
    utilization: np.ndarray = UTILIZATION_GRID,
) -> pd.DataFrame:
    """USD per useful accelerator-hour against fleet utilization, rented and owned, with bands.

    Renting does not depend on utilization (it is paid per hour used); owning spreads the hardware
    and the building over the useful share of the fleet's life.

    Parameters
    ----------
    accelerator : str
        An id of `rent_vs_build_accelerators`.
    catalog : Catalog, optional
        The inputs to use; default `load_catalog()`.
    site : str, optional
        Region id in data/sites.csv (default ``"us-average"``): PUE and electricity price.
    pue : float, optional
        One PUE in [1, 3]; 0 or None: the site's PUE plus the sampled site variation.
    draws : int
        Monte Carlo draws.
    seed : int
        Seed of every draw.
    utilization : array of float
        Shares of the hardware's life doing useful work, in (0, 1].

    Returns
    -------
    pandas.DataFrame
        One row per option (``"rent"``, ``"own"``) and utilization: accelerator, option,
        utilization, p10, p50, p90, mean (USD per useful accelerator-hour).
    """
    import pandas as pd

    costs = hourly_costs(accelerator, catalog=catalog, site=site, pue=pue, draws=draws, seed=seed)
    fixed = (costs["hardware_usd_per_hour"] + costs["facility_usd_per_hour"]).to_numpy()
    energy = costs["energy_usd_per_hour"].to_numpy()
    rent = costs["rent_usd_per_hour"].to_numpy()
    rows = []
    for f in utilization:
        for option, values in (("rent", rent), ("own", fixed / f + energy)):
            rows.append(
                {
                    "accelerator": accelerator,
                    "option": option,
                    "utilization": float(f),
                    **quantiles(values),
                }
            )
    return pd.DataFrame(rows)


def break_even_summary(costs: pd.DataFrame) -> pd.DataFrame:
    """Quantiles of each hourly cost and of the break-even utilization.

    Parameters
    ----------
    costs : pandas.DataFrame
        From `hourly_costs`.

    Returns
    -------
    pandas.DataFrame
        One row per column of `costs` (index ``quantity``), columns p10, p50, p90.
    """
    import pandas as pd

    rows = {}
    for column in costs.columns:
        values = costs[column].to_numpy()
        q = np.quantile(values, list(QUANTILES.values()))
        rows[column] = {key: float(v) for key, v in zip(QUANTILES, q)}
    return pd.DataFrame(rows).T.rename_axis("quantity")


def run_cost_rent_vs_own(
    accelerator: str,
    run_flop: float,
    *,
    catalog: Catalog | None = None,
    mfu: float | None = None,
    pue: float | None = None,
    site: str | None = None,
    draws: int = 2000,
    seed: int = 0,
    backend: str | None = None,
) -> pd.DataFrame:
    """One run's accelerator-hours, energy and cost, rented and owned.

    The accelerator-hours come from `estimate` (the calibrated MFU prior, or `mfu`); owned capacity
    is amortized as a fully used fleet.

    Parameters
    ----------
    accelerator : str
        An id of `rent_vs_build_accelerators`.
    run_flop : float
        The run's training compute, FLOP.
    catalog : Catalog, optional
        The inputs to use; default `load_catalog()`.
    mfu : float, optional
        A fixed MFU in [0.001, 1]; 0 or None: the calibrated prior.
    pue : float, optional
        One PUE in [1, 3]; 0 or None: the site's PUE plus the sampled site variation.
    site : str, optional
        Region id in data/sites.csv (default ``"us-average"``).
    draws : int
        Monte Carlo draws.
    seed : int
        Seed of every draw.
    backend : {"auto", "numpy", "cupy"}, optional
        Array backend of the `estimate` call.

    Returns
    -------
    pandas.DataFrame
        Rows gpu_hours, energy_mwh, cost_rent_usd, cost_own_usd (index ``quantity``); columns p10,
        p50, p90, mean.
    """
    import pandas as pd

    from ..model.estimate import estimate

    result = estimate(
        flop=run_flop,
        accelerator=accelerator,
        mfu=mfu or None,
        pue=pue or None,
        site=site,
        draws=draws,
        seed=seed,
        backend=backend,
        keep_draws=True,
        catalog=catalog,
    )
    costs = hourly_costs(accelerator, catalog=catalog, site=site, pue=pue, draws=draws, seed=seed)
    catalog = catalog or load_catalog()
    price = catalog.site(site or K.DEFAULT_SITE, flag="site").electricity_usd_per_mwh
    hours = result.draws["gpu_hours"].to_numpy()
    energy = result.draws["energy_mwh"].to_numpy()
    fixed_per_hour = (costs["hardware_usd_per_hour"] + costs["facility_usd_per_hour"]).to_numpy()
    rows = {
        "gpu_hours": quantiles(hours),
        "energy_mwh": quantiles(energy),
        "cost_rent_usd": quantiles(hours * costs["rent_usd_per_hour"].to_numpy()),
        "cost_own_usd": quantiles(hours * fixed_per_hour + energy * price),
    }
    return pd.DataFrame(rows).T.rename_axis("quantity")
