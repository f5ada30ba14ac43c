"""Calibration rows from Epoch AI's model database, under the rule in data/README.md.

Developer script (reads the shared reference sheet, which a user's clone does not have):

    .venv/bin/python scripts/epoch_calibration.py            # print the rows as CSV
    .venv/bin/python scripts/epoch_calibration.py --write    # replace the Epoch rows in data/

Which Epoch rows calibrate is decided here in two steps. First the sheet's own columns filter:
a language-domain system with training hardware, a compute figure and hours (chip-hours, or
quantity and time). Then each surviving row was read by hand (its "Training compute notes",
"Training time notes" and "Dataset size notes") and is listed in ``ACCEPTED`` with the parameters
and tokens of its 6·N·D (or the authors' FLOP figure), or in ``REJECTED`` with the reason. A
surviving row in neither list fails the script, so a new snapshot cannot slip rows in unread.
Epoch AI, "Data on AI Models" (epoch.ai/data/ai-models), CC BY 4.0.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHEET = ROOT.parent.parent / "shared" / "reference" / "epoch_ai_models.csv"
if not SHEET.is_file():  # worktrees live at /work/wt/<name>; the main checkout at /work/main
    SHEET = Path("/work/shared/reference/epoch_ai_models.csv")
RUNS = ROOT / "data" / "training_runs.csv"
EPOCH_CITATION = (
    "Epoch AI, 'Data on AI Models' (epoch.ai/data/ai-models, CC BY 4.0; snapshot 2025-08)"
)

#: Epoch's "Training hardware" names -> accelerator ids. Generic names map to the SXM part whose
#: dense 16-bit peak Epoch itself uses for them (A100: 312 TFLOP/s for both memory sizes; V100:
#: 125).
HARDWARE_IDS = {
    "NVIDIA H100 SXM5 80GB": "h100-sxm",
    "NVIDIA H800 SXM5": "h800",
    "NVIDIA A100": "a100-sxm-40gb",
    "NVIDIA A100 SXM4 40 GB": "a100-sxm-40gb",
    "NVIDIA A100 SXM4 80 GB": "a100-sxm-80gb",
    "NVIDIA A100 SXM4 40 GB,NVIDIA A100 SXM4 80 GB": "a100-sxm-80gb",
    "NVIDIA V100": "v100-sxm-32gb",
    "NVIDIA Tesla V100 DGXS 32 GB": "v100-sxm-32gb",
    "Google TPU v3": "tpu-v3",
    "Google TPU v4": "tpu-v4",
}
#: Organization names as data/ spells them, so leave-one-organization-out groups one lab's runs.
ORGANIZATIONS = {
    "Meta AI": "Meta",
    "Facebook AI Research": "Meta",
    "Allen Institute for AI": "Ai2",
    "Technology Innovation Institute": "TII",
    "Google Research": "Google",
    "Google": "Google",
    "Mohamed bin Zayed University of Artificial Intelligence (MBZUAI)": "MBZUAI",
}
#: Floor on training compute: single-node research runs (1e17-1e20 FLOP) say little about the
#: utilization of the multi-node runs this package estimates.
MIN_FLOP = 1e21

# Rows accepted after reading their notes. active: active parameters (MoE); tokens: tokens trained
# (passes included); flop: the authors' FLOP figure when flop_basis is "reported"; gpu_hours: an
# override when the sheet's quantity x time covers more than pre-training (said in note).
ACCEPTED: dict[str, dict] = {
    "Granite 3.0 8B": dict(
        id="granite-3.0-8b",
        tokens=12e12,
        arch="dense",
        note="Chip-hours from the Granite 3.0 report Table 7. 6ND with 8.1e9 x 12e12.",
    ),
    "Granite 3.0 2B": dict(
        id="granite-3.0-2b",
        tokens=12e12,
        arch="dense",
        note="Chip-hours from the Granite 3.0 report Table 7. 6ND with 2.5e9 x 12e12.",
    ),
    "OLMoE": dict(
        id="olmoe-1b-7b",
        active=1.3e9,
        tokens=5.1e12,
        arch="MoE (64 experts, 8 active)",
        gpu_hours=256 * 240.0,
        note="'We pretrain OLMoE-1B-7B for 5.1 trillion tokens ... 1.3B activated'; hours = 256 "
        "H100 x "
        "~10 days of pre-training (the sheet's 287 h adds instruction and preference tuning).",
    ),
    "OpenELM-270M": dict(
        id="openelm-270m",
        tokens=1.5e12,
        arch="dense",
        note="128 A100 x 3 days (paper Table 9). 6ND with 0.27e9 x 1.5e12.",
    ),
    "OpenELM-450M": dict(
        id="openelm-450m",
        tokens=1.5e12,
        arch="dense",
        note="128 H100 x 3 days (paper Table 9). 6ND with 0.45e9 x 1.5e12.",
    ),
    "OpenELM-1.1B": dict(
        id="openelm-1.1b",
        tokens=1.5e12,
        arch="dense",
        note="128 A100 x 11 days (paper Table 9). 6ND with 1.08e9 x 1.5e12.",
    ),
    "OpenELM-3B": dict(
        id="openelm-3b",
        tokens=1.5e12,
        arch="dense",
        note="128 H100 x 13 days (paper Table 9). 6ND with 3.04e9 x 1.5e12.",
    ),
    "phi-3.5-mini": dict(
        id="phi-3.5-mini",
        tokens=3.4e12,
        arch="dense",
        note="512 H100 x 10 days (model card). 6ND with 3.8e9 x 3.4e12.",
    ),
    "Phi-3.5-MoE": dict(
        id="phi-3.5-moe",
        active=6.6e9,
        tokens=4.9e12,
        arch="MoE (16 experts, 2 active)",
        note="512 H100 x 23 days (model card). 6ND with 6.6e9 active x 4.9e12.",
    ),
    "Nemotron-4 15B": dict(
        id="nemotron-4-15b",
        tokens=8e12,
        arch="dense",
        note="3,072 H100 for ~13 calendar days (the GPU count ramped up during the run, so "
        "quantity x time is an upper estimate of the hours). 6ND with 15e9 x 8e12.",
    ),
    "Phi-2": dict(
        id="phi-2",
        tokens=1.4e12,
        arch="dense",
        gpu_hours=96 * 14 * 24.0,
        n=96,
        note="96 A100 x 14 days (Microsoft blog). 1.4T tokens = several passes over 250B.",
    ),
    "Amber": dict(
        id="amber-7b",
        tokens=1.25913e12,
        arch="dense",
        note="224 A100-80GB x 600.5 h (LLM360). 6ND with 6.7e9 x 1.259e12.",
    ),
    "Granite 13B": dict(
        id="granite-13b",
        tokens=2.5e12,
        arch="dense",
        gpu_hours=256 * 2208.0,
        n=256,
        note="256 A100 for 1056 h (v1) + 1152 h (v2) = 2208 h; 2.5T tokens (v2 model card).",
    ),
    "Nemotron-3-8B": dict(
        id="nemotron-3-8b",
        tokens=3.8e12,
        arch="dense",
        note="'1,024 A100s were used for 19 days'; 3.8T tokens (model card).",
    ),
    "Amazon Titan": dict(
        id="amazon-titan",
        tokens=4e12,
        arch="dense",
        note="13,760 A100 for 48 days and 200B x 4T tokens, both from secondary reporting "
        "(Import AI; James Hamilton's CIDR 2024 talk); the sheet rates it 'Likely'.",
    ),
    "Phi-1.5": dict(
        id="phi-1.5",
        tokens=150e9,
        arch="dense",
        gpu_hours=1500.0,
        hours_basis="reported",
        note="1.5K A100-hours (paper Table 1); 150B tokens (5 passes over 30B).",
    ),
    "XGen-7B": dict(
        id="xgen-7b",
        tokens=1.484e12,
        arch="dense",
        note="270,336 TPU v4 chip-hours from the carbon section; may cover more than this one "
        "model "
        "(Epoch: 'probably the total for the whole paper'). 6ND with 6.7e9 x 1.484e12.",
    ),
    "MPT-30B": dict(
        id="mpt-30b",
        flop_basis="reported",
        flop=1.89e23,
        tokens=1.05e12,
        arch="dense",
        note="MosaicML: 512 H100 for 11.6 days; 'MPT-30B FLOPs ~= 6 * 30e9 * 1.05e12 = 1.89e23'.",
    ),
    "Incoder-6.7B": dict(
        id="incoder-6.7b",
        flop_basis="reported",
        flop=3e21,
        arch="dense (causal-masked code LM)",
        gpu_hours=248 * 24 * 24.0,
        n=248,
        note="3e21 FLOP from the paper's Table 5; 248 V100 for 24 days (likely calendar time, "
        "so the hours may include idle time).",
    ),
    "Falcon-40B": dict(
        id="falcon-40b",
        tokens=1e12,
        arch="dense (multiquery)",
        note="384 A100 for ~2 months; 2,800 PF-days reported (paper Table 1) = 6ND with 40e9 x "
        "1e12.",
    ),
    "Luminous-supreme": dict(
        id="luminous-supreme",
        tokens=1.0693e12,
        arch="dense",
        gpu_hours=839000.0,
        hours_basis="reported",
        note="~839,000 A100-hours (model card, environmental section); 1,069.3B tokens.",
    ),
    "Luminous-extended": dict(
        id="luminous-extended",
        tokens=460e9,
        arch="dense",
        note="360,000 A100-hours (model card); 460B tokens.",
    ),
    "Luminous-base": dict(
        id="luminous-base",
        tokens=402e9,
        arch="dense",
        note="95,000 A100-hours (model card); 402B tokens.",
    ),
    "XGLM-7.5B": dict(
        id="xglm-7.5b", tokens=500e9, arch="dense", note="256 A100 for about 3 weeks; 500B tokens."
    ),
    "GLaM": dict(
        id="glam",
        active=96.6e9,
        tokens=600e9,
        arch="MoE (64 experts, 2 active)",
        note="139.67 TPU v4-years digitized from the paper's Fig. 4(d); "
        "96.6B active x 600B tokens.",
    ),
    "German ELECTRA Large": dict(
        id="german-electra-large",
        tokens=5.24e11,
        arch="encoder (ELECTRA)",
        note="64 TPU v3 chips for 7 days; tokens = 512 x 1024 x 1M steps.",
    ),
    "AraBERT LArge v2": dict(
        id="arabert-large-v2",
        tokens=(128 * 13440 * 250000 + 512 * 2056 * 300000),
        arch="encoder (BERT)",
        note="TPU v3-128 (64 chips) for 7 days; tokens from the two sequence-length phases.",
    ),
}
REJECTED: dict[str, str] = {
    "EXAONE Deep 32B": "fine-tune of EXAONE 3.5 (not pre-training)",
    "Grok-3": "compute from hardware time and comparisons",
    "DeepSeek-V3": "already in data/ from the reference training runs",
    "Llama 3.3 70B": "post-trained from Llama 3.1 70B; its 7.0M hours are Llama 3.1 70B's (already "
    "in data/)",
    "Pleias 1.0 1.2B": "token count conflicts (5e12 in the notes, 1.6e12 in the dataset column)",
    "Llama 3.2 1B": "pruned from Llama 3.1 8B and distilled from its logits: not pre-training from "
    "scratch",
    "Llama 3.2 3B": "pruned from Llama 3.1 8B and distilled from its logits: not pre-training from "
    "scratch",
    "DISTRO": "below the 1e21 FLOP floor",
    "Llama 3.1-405B": "already in data/ from the reference training runs",
    "Nemotron-4 340B": "already in data/ from the reference training runs",
    "Chameleon-34B": "multimodal (image and text tokens)",
    "DeepSeek-V2 (MoE-236B)": "already in data/ from the reference training runs",
    "Llama 3-70B": "already in data/ from the reference training runs",
    "FRED-T5-XL": "mixed hardware (A100 and V100); also encoder-decoder",
    "Mistral Large": "compute from cost",
    "MegaScale (Production)": "compute speculative (method 'Other')",
    "Code Llama-70B": "continued pre-training of Llama 2 70B: the hours cover 1T of the 3T tokens",
    "Phi-1": "below the 1e21 FLOP floor",
    "TinyLlama-1.1B (3T token checkpoint)": "training time assumed by Epoch (3 months), not "
    "reported",
    "GAIA-1": "video world model, compute from hardware time",
    "PLaMo-13B": "training time assumed by Epoch ('30 days, likely less')",
    "Falcon-180B": "already in data/ from the reference training runs",
    "StableLM-Base-Alpha-7B": "hardware quantity not in the sheet",
    "ruGPT-3.5 13B": "mixed hardware (V100 pre-training, A100 fine-tuning)",
    "OPT-IML (175B)": "fine-tune of OPT-175B",
    "OPT-175B": "already in data/ from the reference training runs",
    "GLM-130B": "already in data/ from the reference training runs",
    "UL2": "encoder-decoder: 6·N·D with all parameters overcounts",
    "Megatron-Turing NLG 530B": "already in data/ from the reference training runs",
    "FLAN 137B": "hours cover instruction tuning only",
    "GPT-2 (1.5B, Curriculum Learning 45K)": "compute from comparison with other models",
    "EMDR": "retrieval question answering, not language-model pre-training",
    "GPT-J-6B": "hardware quantity not in the sheet",
    "T2R + Random Init": "below the 1e21 FLOP floor",
    "GLM-10B": "token count assumed from smaller models",
    "AraELECTRA": "below the 1e21 FLOP floor",
    "SRU++ Large": "below the 1e21 FLOP floor",
    "Switch": "compute from a third-party estimate; encoder-decoder",
    "AraGPT2-Mega": "compute from a third-party estimate",
    "CPM-Large": "below the 1e21 FLOP floor",
    "DeLighT": "below the 1e21 FLOP floor",
    "GShard (dense)": "FP32 training and translation (encoder-decoder)",
    "GPT-3 175B (davinci)": "already in data/ from the reference training runs",
    "UnifiedQA": "fine-tune of T5",
    "AraBERT LArge v2 ": "",
    "ALBERT-xxlarge": "shares parameters across layers, so 6·N·D undercounts",
    "Meena": "sequence-to-sequence (Evolved Transformer encoder-decoder); compute from a "
    "third-party estimate",
    "CamemBERT": "below the 1e21 FLOP floor",
    "T5-11B": "encoder-decoder: 6·N·D with all parameters overcounts",
    "Megatron-BERT": "hardware (V100S PCIe) has no accelerator id",
    "Megatron-LM (8.3B)": "training time derived from the compute figure (circular)",
    "All-attention network + adaptive span": "below the 1e21 FLOP floor",
    "RoBERTa Large": "training time assumed (5x the one-day figure)",
    "WeNet (Penn Treebank)": "below the 1e21 FLOP floor",
    "Transformer (Adaptive Input Embeddings) WT103": "below the 1e21 FLOP floor",
    "QRNN": "below the 1e21 FLOP floor",
    "Transformer-XL + RMT": "below the 1e21 FLOP floor",
    "TransformerXL + spectrum control": "below the 1e21 FLOP floor",
    "Kosmos-2": "multimodal",
    "Vega v2": "compute from hardware time",
    "PaLI": "multimodal",
    "Gato": "multimodal agent",
    "Luminous-world": "multimodal",
}

COLUMNS = [
    "id",
    "model",
    "organization",
    "year",
    "architecture",
    "total_params",
    "active_params",
    "training_tokens",
    "training_flop",
    "accelerator",
    "n_accelerators",
    "gpu_hours",
    "gpu_hours_scope",
    "hours_tokens",
    "precision",
    "mfu_reported",
    "energy_mwh",
    "energy_basis",
    "pue",
    "power_mw",
    "confidence",
    "role",
    "run_kind",
    "flop_basis",
    "hours_basis",
    "hours_bound",
    "source",
    "notes",
]


def _num(text: str) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


def _g(value) -> str:
    return "" if value is None else f"{value:.6g}"


def sheet_rows(path: Path = SHEET) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def survives_filter(row: dict) -> bool:
    """The sheet-column filter: language domain, hardware, compute, and hours of some kind."""
    domains = {d.strip() for d in row["Domain"].split(",")}
    hours = row["Training chip-hours"].strip() or (
        row["Training time (hours)"].strip() and row["Hardware quantity"].strip()
    )
    has_hw = any(
        h in row["Training hardware"] for h in ("H100", "H800", "A100", "V100", "TPU v3", "TPU v4")
    )
    return (
        domains == {"Language"}
        and bool(row["Training hardware"].strip())
        and has_hw
        and bool(row["Training compute (FLOP)"].strip())
        and bool(hours)
        and row["Training compute estimation method"].strip() != "Hardware"
    )


def build_row(row: dict, spec: dict) -> dict:
    """One data/training_runs.csv row from an Epoch row and its hand-read spec."""
    hardware = row["Training hardware"].strip()
    if hardware not in HARDWARE_IDS:
        raise SystemExit(f"{row['Model']}: no accelerator id for Epoch hardware {hardware!r}")
    quantity = _num(row["Hardware quantity"]) or spec.get("n")
    hours_time = _num(row["Training time (hours)"])
    chip_hours = _num(row["Training chip-hours"])
    if "gpu_hours" in spec:
        gpu_hours, hours_basis = spec["gpu_hours"], spec.get("hours_basis", "quantity_x_time")
    elif chip_hours is not None:
        gpu_hours = chip_hours
        hours_basis = (
            "quantity_x_time"
            if quantity
            and hours_time
            and abs(quantity * hours_time - chip_hours) < 1e-4 * chip_hours
            else "reported"
        )
    else:
        gpu_hours, hours_basis = quantity * hours_time, "quantity_x_time"
    total = _num(row["Parameters"])
    flop_basis = spec.get("flop_basis", "params_x_tokens")
    precision = {"BF16": "bf16", "FP16": "bf16"}.get(row["Numerical format"].strip(), "")
    sheet_bits = (
        f"Epoch row '{row['Model']}': hardware '{hardware}', quantity {_g(quantity) or '-'}, "
        f"time {_g(hours_time) or '-'} h, chip-hours {_g(chip_hours) or '-'}, compute "
        f"{_g(_num(row['Training compute (FLOP)']))} FLOP by "
        f"'{row['Training compute estimation method']}'"
    )
    return {
        "id": spec["id"],
        "model": row["Model"].strip(),
        "organization": ORGANIZATIONS.get(
            row["Organization"].split(",")[0].strip(), row["Organization"].split(",")[0].strip()
        ),
        "year": row["Publication date"][:4],
        "architecture": spec["arch"],
        "total_params": _g(total),
        "active_params": _g(spec.get("active", total)),
        "training_tokens": _g(spec.get("tokens")),
        "training_flop": _g(spec.get("flop")),
        "accelerator": HARDWARE_IDS[hardware],
        "n_accelerators": "" if quantity is None else str(int(quantity)),
        "gpu_hours": _g(gpu_hours),
        "gpu_hours_scope": "pretrain",
        "hours_tokens": "",
        "precision": precision,
        "mfu_reported": "",
        "energy_mwh": "",
        "energy_basis": "",
        "pue": "",
        "power_mw": "",
        "confidence": "reported",
        "role": "calibration",
        "run_kind": "language_pretrain",
        "flop_basis": flop_basis,
        "hours_basis": hours_basis,
        # accelerators x time bounds the clean pass from above (data/README.md, hours_bound)
        "hours_bound": "upper" if hours_basis == "quantity_x_time" else "exact",
        "source": f"{EPOCH_CITATION}; {row['Reference'].strip() or row['Model'].strip()} "
        f"({row['Link'].split()[0].strip().rstrip(',')})",
        "notes": f"{spec['note']} {sheet_bits}.",
    }


def epoch_rows(path: Path = SHEET) -> list[dict]:
    """Every accepted row; fails on a surviving sheet row that was neither accepted nor rejected."""
    out, unread = [], []
    for row in sheet_rows(path):
        name = row["Model"].strip()
        if name in ACCEPTED:
            out.append(build_row(row, ACCEPTED[name]))
        elif (
            survives_filter(row)
            and name not in REJECTED
            and _num(row["Training compute (FLOP)"]) >= MIN_FLOP
        ):
            unread.append(name)
    if unread:
        raise SystemExit(f"rows pass the sheet filter but were not read by hand: {unread}")
    missing = set(ACCEPTED) - {r["model"] for r in out}
    if missing:
        raise SystemExit(f"accepted rows not found in the sheet: {sorted(missing)}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", action="store_true", help="replace the Epoch rows of data/training_runs.csv"
    )
    args = parser.parse_args(argv)
    rows = epoch_rows()
    if not args.write:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        sys.stdout.write(buf.getvalue())
        return 0
    with open(RUNS, newline="", encoding="utf-8") as handle:
        existing = [r for r in csv.DictReader(handle) if not r["source"].startswith(EPOCH_CITATION)]
    with open(RUNS, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows([{c: r.get(c, "") for c in COLUMNS} for r in existing] + rows)
    print(f"wrote {len(existing)} reference rows + {len(rows)} Epoch rows to {RUNS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
