"""Single-run arithmetic: FLOP, accelerator-hours, power, energy, cost, emissions.

Array-API code, written once for NumPy, CuPy and array-api-strict: only arithmetic on the inputs, so
dtype and device follow them and nothing converts to the host. Shapes broadcast; units are in names.
"""

from __future__ import annotations

from ...constants import (
    FACILITY_LIFE_YEARS,
    FLOP_PER_PARAM_PER_TOKEN,
    HOURS_PER_DAY,
    HOURS_PER_YEAR,
    INTERCONNECT_COST_FRACTION,
    SECONDS_PER_HOUR,
)


def training_flop(active_params, tokens, /):
    """C = 6 N D (FLOP) from active parameters per token and training tokens."""
    return FLOP_PER_PARAM_PER_TOKEN * active_params * tokens


def accelerator_hours(flop, peak_flop_per_s, mfu, goodput, /):
    """Accelerator-hours to do `flop` at `peak * mfu` FLOP/s while `goodput` of wall-clock is
    useful."""
    return flop / (peak_flop_per_s * mfu * goodput * SECONDS_PER_HOUR)


def implied_mfu(flop, gpu_hours, peak_flop_per_s, goodput, /):
    """The MFU at which `gpu_hours` would do `flop` (inverse of accelerator_hours)."""
    return flop / (gpu_hours * peak_flop_per_s * goodput * SECONDS_PER_HOUR)


def wall_clock_days(gpu_hours, n_accelerators, /):
    """Days of wall-clock for a fixed cluster of `n_accelerators`."""
    return gpu_hours / (n_accelerators * HOURS_PER_DAY)


def average_power_w(server_power_w, server_power_fraction, pue, /):
    """Facility power per accelerator while training (W): server rating x fraction drawn x PUE.

    Epoch AI cost model (Cottier et al. 2024): chip TDP x chip-to-server multiplier is the server
    rating per accelerator; training draws `server_power_fraction` of it on average.
    """
    return server_power_w * server_power_fraction * pue


def energy_mwh(gpu_hours, average_power_w, /):
    """Facility energy (MWh) of `gpu_hours` at `average_power_w` per accelerator."""
    return gpu_hours * average_power_w * 1e-6


def peak_power_mw(n_accelerators, server_power_w, pue, /):
    """Peak facility power (MW) of `n_accelerators` at their rating, cooling included via PUE."""
    return n_accelerators * server_power_w * pue * 1e-6


def emissions_tco2e(energy_mwh, grid_gco2_per_kwh, /):
    """tCO2e from MWh and grid intensity in gCO2e/kWh (1 MWh x 1 g/kWh = 1 kg)."""
    return energy_mwh * grid_gco2_per_kwh * 1e-3


def rental_cost_usd(gpu_hours, usd_per_gpu_hour, /):
    """Rented or reserved capacity: accelerator-hours x hourly rate."""
    return gpu_hours * usd_per_gpu_hour


def owned_cost_usd(
    gpu_hours,
    purchase_price_usd,
    life_years,
    energy_mwh,
    electricity_usd_per_mwh,
    /,
    *,
    facility_usd_per_gpu_hour=0.0,
):
    """Owned hardware: straight-line amortization of price plus interconnect, plus energy, plus
    facility.

    Cottier et al. 2024 amortized-capex method: hardware cost x (1 + interconnect share) spread over
    its useful life, charged for the hours used; energy at the site's price; the building's cost per
    accelerator-hour when given.
    """
    hardware = hardware_usd_per_hour(purchase_price_usd, life_years)
    return gpu_hours * (hardware + facility_usd_per_gpu_hour) + energy_mwh * electricity_usd_per_mwh


def hardware_usd_per_hour(purchase_price_usd, life_years, /):
    """Owned hardware per accelerator-hour: price x (1 + interconnect share), straight-line over its
    life (Cottier et al. 2024). The one place this amortization is written (estimate, the race,
    rent vs build)."""
    return purchase_price_usd * (1.0 + INTERCONNECT_COST_FRACTION) / (life_years * HOURS_PER_YEAR)


def facility_usd_per_hour(build_usd_per_mw, server_power_w, pue, /):
    """The building per accelerator-hour: build cost per MW of the accelerator's facility power at
    rating (server W x PUE), straight-line over FACILITY_LIFE_YEARS. The one place it is written."""
    return build_usd_per_mw * (server_power_w * 1e-6) * pue / (FACILITY_LIFE_YEARS * HOURS_PER_YEAR)
