"""Command-line interface: mlspin-train <command> ... (see --help)."""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import os
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from . import __version__
from .runtime import set_threads
from .dataset import DataError, Dataset, planar_box, portable_name, read_dataset, relocate_provenance

EPILOG = """typical use:
  mlspin-train data-info runs/quench                      # what is in a data set
  mlspin-train train runs/quench runs/random --out fit    # train, export fit/model.pt
  mlspin-train evaluate fit/model.pt runs/heldout         # metrics on held-out data
  mlspin-train committee fit*/checkpoint_best.pt --out c  # mean of fits (other seeds)
  mlspin-train check fit/model.pt                         # contract + LAMMPS comparison

A data set NAME is the pair NAME.dump / NAME.energy written by LAMMPS runs with
pair_style sd/tb (see tools/README.md for the format)."""


# ----------------------------------------------------------------------------
# shared helpers


def _load_sets(names: Sequence[str], column_map: Dict[str, str], require_energy: bool = True) -> List[Dataset]:
    sets = []
    for name in names:
        ds = read_dataset(name, require_energy=require_energy, column_map=column_map)
        for f in ds.frames:
            f.box = planar_box(f.box, ds.dimension)
        sets.append(ds)
    return sets


def _common(sets: Sequence[Dataset], what: str, override: Optional[str] = None):
    if override is not None:
        return override
    values = {json.dumps(getattr(ds, what), sort_keys=True) for ds in sets}
    if len(values) > 1:
        raise DataError(f"the data sets disagree on {what}: " + ", ".join(f"{ds.name}: {getattr(ds, what)}" for ds in sets))
    return getattr(sets[0], what)


ENSEMBLE_PARAMETERS = ("mu", "filling")


def _mu_reference(sets: Sequence[Dataset]) -> Dict:
    """The common reference of data sets for a model with the mu input: the same
    Hamiltonian at different chemical potentials or fillings (sd/tb's mu and filling
    may differ, nothing else); ``ensembles`` lists each set's mu or filling."""
    def hamiltonian(ref: Dict) -> Dict:
        params = {k: v for k, v in ref.get("parameters", {}).items() if k not in ENSEMBLE_PARAMETERS}
        return {"style": ref.get("style"), "parameters": params}

    refs = [ds.reference if isinstance(ds.reference, dict) else {} for ds in sets]
    kinds = {json.dumps(hamiltonian(r), sort_keys=True) for r in refs}
    if len(kinds) > 1:
        raise DataError(
            "the data sets disagree on the reference Hamiltonian (other than mu and filling): "
            + ", ".join(f"{ds.name}: {r.get('text')}" for ds, r in zip(sets, refs))
        )
    common = hamiltonian(refs[0])
    ensembles = {ds.name: {k: v for k, v in r.get("parameters", {}).items() if k in ENSEMBLE_PARAMETERS} for ds, r in zip(sets, refs)}
    words = [common["style"] or ""]
    for k, v in common["parameters"].items():
        words += [k] + ([f"{x:g}" for x in v] if isinstance(v, list) else [f"{v:g}" if isinstance(v, float) else str(v)])
    return dict(common, text=" ".join(words) + " (at the data's mu and fillings)", ensembles=ensembles)


def _column_map(pairs: Sequence[str]) -> Dict[str, str]:
    out = {}
    for p in pairs or []:
        if "=" not in p:
            raise DataError(f"--column expects NAME=FILECOLUMN (e.g. spx=c_sp[1]), got '{p}'")
        k, v = p.split("=", 1)
        out[k] = v
    return out


def set_weights(sets: Sequence[Dataset], patterns: Sequence[str]) -> Dict[str, float]:
    """Loss weight of each training set from --set-weight PATTERN=W (shell
    patterns on the set name; the last matching pattern wins; default 1)."""
    weights = {ds.name: 1.0 for ds in sets}
    for p in patterns or []:
        pattern, sep, value = p.rpartition("=")
        try:
            w = float(value) if sep and pattern else math.nan
        except ValueError:
            w = math.nan
        if not (w >= 0 and math.isfinite(w)):
            raise DataError(f"--set-weight expects PATTERN=WEIGHT with a finite weight >= 0, e.g. 'train_q*=5', got '{p}'")
        matched = [name for name in weights if fnmatch.fnmatchcase(name, pattern)]
        if not matched:
            raise DataError(f"--set-weight '{p}': no training set matches '{pattern}' (sets: {', '.join(weights)})")
        for name in matched:
            weights[name] = w
    if not any(w > 0 for w in weights.values()):
        raise DataError("--set-weight gives every training set weight 0")
    return weights


def _type_map(sets: Sequence[Dataset], species: Optional[Sequence[str]]):
    """(species names, {LAMMPS type: species index})."""
    present = sorted({int(t) for ds in sets for f in ds.frames for t in np.unique(f.types)})
    n_types = max(present)
    if species is None:
        species = ["site"] if n_types == 1 else [f"site{t}" for t in range(1, n_types + 1)]
    bad = [s for s in species if not s or s == "NULL" or any(c.isspace() for c in s)]
    if bad or len(set(species)) != len(species):
        raise DataError(f"species names must be distinct, without spaces and other than NULL: {species}")
    if len(species) < n_types:
        raise DataError(f"the data have LAMMPS types up to {n_types}, but --species names only {len(species)}")
    return list(species), {t: t - 1 for t in range(1, len(species) + 1)}


def _teacher(args):
    """(model, metadata) of --teacher, or (None, {})."""
    if args.init_member is not None and not args.init:
        raise DataError("--init-member needs --init MODEL")
    if not args.teacher:
        return None, {}
    if getattr(args, "mu_input", False):
        raise DataError("--teacher with --mu-input is not supported yet: the labels of a mu-aware teacher would need each snapshot's mu")
    if not args.valid:
        raise DataError("--teacher needs --valid: validation data labelled by the reference (the training "
                        "sets are labelled by the teacher, so a part of them cannot validate against the reference)")
    from .distill import load_file_model

    try:
        return load_file_model(args.teacher)
    except (ValueError, RuntimeError) as e:
        raise DataError(f"--teacher: {e}") from None


def _descriptor_of(path: str) -> Dict:
    """The descriptor configuration of a model file (its tables are built anew)."""
    from .export import load_model

    try:
        _, meta = load_model(path)
    except ValueError as e:
        raise DataError(f"--descriptor-of: {e}") from None
    if "descriptor" not in meta:
        raise DataError(f"--descriptor-of {path}: the file was not written by mlspin-train (no 'descriptor' in its metadata)")
    return {k: v for k, v in meta["descriptor"].items() if k != "n_features"}


def _file_info(path: str, meta: Dict) -> Dict:
    from .convert import sha256_of

    return {"file": os.path.basename(path), "sha256": sha256_of(path), "description": meta.get("description", "")}


def _hidden(text: str) -> List[int]:
    try:
        sizes = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"hidden layer sizes must be integers separated by commas, got '{text}'") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"need at least one positive layer size, got '{text}'")
    return sizes


def _write_json(path: str, data: Dict) -> None:
    with open(path, "w") as fh:
        json.dump(data, fh, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
        fh.write("\n")


# ----------------------------------------------------------------------------
# descriptor configuration


def detect_lattice(frame) -> Dict:
    """Square or triangular lattice of a snapshot (kind, a, phi)."""
    from .graph import build_graph
    from .lattice import identify_lattice

    area = abs(np.linalg.det(frame.box.cell[:2, :2])) / frame.n_atoms
    g = build_graph(frame.positions, frame.box, 1.6 * np.sqrt(area))
    if g.edge_index.shape[1] == 0:
        raise DataError("could not find neighbors to identify the lattice; pass --lattice")
    specs = set()
    for i in sorted(set(np.linspace(0, frame.n_atoms - 1, 5).astype(int))):
        vec = g.edge_vec[g.edge_index[0] == i]
        spec = identify_lattice(vec)
        specs.add((spec.kind, round(spec.a, 9), round(spec.phi, 9)))
    if len(specs) != 1:
        raise DataError(f"sites of the snapshot see different lattices {sorted(specs)}; pass --lattice")
    kind, a, phi = specs.pop()
    return {"lattice": kind, "a": a, "phi": phi}


def descriptor_config(args, frame) -> Dict:
    if args.descriptor == "continuous":
        from .continuous_descriptor import ContinuousDescriptorConfig

        return ContinuousDescriptorConfig(
            cutoff=args.cutoff, n_radial=args.n_radial, r_min=args.r_min, lmax=args.lmax, n_species=args.n_species
        ).to_dict()
    from .lattice_descriptor import LatticeDescriptorConfig

    if args.lattice == "auto":
        geometry = detect_lattice(frame)
    else:
        geometry = {"lattice": args.lattice, "a": args.a, "phi": 0.0}
    return LatticeDescriptorConfig(
        radius=args.radius,
        bond_radius=args.bond_radius,
        bond_shells=args.bond_shells,
        cross_radius=args.cross_radius,
        chiral_radius=args.chiral_radius,
        tri_shells=args.tri_shells,
        ref_decay=args.ref_decay,
        time_reversal=not args.no_time_reversal,
        bispectrum=not args.no_bispectrum,
        site_tol=args.site_tol,
        **geometry,
    ).to_dict()


def _add_descriptor_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("descriptor")
    g.add_argument("--descriptor", choices=["lattice", "continuous"], default="lattice", help="lattice-symmetric (fixed lattice, default) or continuous (moving atoms)")
    g.add_argument("--lattice", choices=["auto", "square", "triangular"], default="auto", help="lattice of the lattice descriptor (default: identified from the data)")
    g.add_argument("--a", type=float, default=1.0, help="lattice constant when --lattice is given (default 1)")
    g.add_argument("--radius", type=float, default=3.0, help="stencil radius in lattice constants: bonds S_i.S_j to all sites within (default 3)")
    g.add_argument("--bond-radius", type=float, default=None, help="neighbor bonds S_j.S_k with both sites within this radius (default: --radius)")
    g.add_argument("--bond-shells", type=int, default=1, help="neighbor bonds at the first N neighbor distances (default 1)")
    g.add_argument("--chiral-radius", type=float, default=None, help="chirality triangles with vertices within this radius (default: min(radius, 2))")
    g.add_argument("--tri-shells", type=int, default=None, help="triangle sides up to the N-th neighbor distance (default 2 square, 1 triangular)")
    g.add_argument("--ref-decay", type=float, default=1.5, help="reference irreps weight orbits by exp(-distance/ref_decay), lattice constants; 0 = equal weights (default 1.5)")
    g.add_argument("--cross-radius", type=float, default=0.0, help="cross power spectrum f_r.f_s of all pairs of irrep copies of one reference within this radius (0 = none)")
    g.add_argument("--no-time-reversal", action="store_true", help="also keep invariants odd in the chiralities")
    g.add_argument("--no-bispectrum", action="store_true", help="omit bispectrum invariants")
    g.add_argument("--site-tol", type=float, default=0.02, help="largest distance of an atom from its lattice site, lattice constants (default 0.02)")
    g.add_argument("--cutoff", type=float, default=4.0, help="continuous descriptor: cutoff radius (default 4)")
    g.add_argument("--n-radial", type=int, default=6, help="continuous descriptor: radial functions per species (default 6)")
    g.add_argument("--r-min", type=float, default=0.5, help="continuous descriptor: first radial center (default 0.5)")
    g.add_argument("--lmax", type=int, default=2, help="continuous descriptor: largest angular momentum, <= 3 (default 2)")


# ----------------------------------------------------------------------------
# commands


def cmd_train(args) -> int:
    from .training import TrainSettings

    set_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    columns = _column_map(args.column)
    teacher, teacher_meta = _teacher(args)
    train_sets = _load_sets(args.data, columns, require_energy=teacher is None)
    valid_sets = _load_sets(args.valid or [], columns)
    test_sets = _load_sets(args.test or [], columns)
    all_sets = train_sets + valid_sets + test_sets
    units = _common(all_sets, "units", args.units)
    if units is None:
        raise DataError("the .energy files name no unit style ('# units lj'); pass --units")
    if teacher is not None:
        # the training labels are the teacher's: its reference is the model's, and the
        # labelled sets (validation, test) must share it
        reference = teacher_meta.get("reference", {})
        if not args.allow_mixed_reference:
            _common(valid_sets + test_sets, "reference")
            if json.dumps(valid_sets[0].reference, sort_keys=True) != json.dumps(reference, sort_keys=True):
                raise DataError(f"--teacher {args.teacher} was trained for {reference.get('text', reference)}, "
                                f"the validation data are of {valid_sets[0].reference.get('text', valid_sets[0].reference)}")
        if units != teacher_meta.get("units"):
            raise DataError(f"--teacher {args.teacher} has units {teacher_meta.get('units')}, the data {units}")
    elif args.allow_mixed_reference:
        reference = train_sets[0].reference
    elif args.mu_input:
        reference = _mu_reference(all_sets)
    else:
        reference = _common(all_sets, "reference")
    species, type_map = _type_map(all_sets, args.species)
    args.n_species = len(species)
    settings = TrainSettings(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, lr_min=args.lr_min, lr_factor=args.lr_factor,
        lr_patience=args.lr_patience, schedule=args.schedule, patience=args.patience, weight_decay=args.weight_decay,
        w_transverse=args.w_transverse, w_field=args.w_field, w_energy=args.w_energy, w_force=args.w_force,
        w_density=args.w_density, seed=args.seed,
    )
    from .workflow import TrainJob

    job = TrainJob(
        out_dir=args.out,
        train_sets=train_sets,
        valid_sets=valid_sets,
        test_sets=test_sets,
        units=units,
        reference=reference,
        species=species,
        type_map=type_map,
        settings=settings,
        val_fraction=args.val_fraction,
        description=args.description,
        float32=args.float32,
        quiet=args.quiet,
        device=args.device,
        set_weights=set_weights(train_sets, args.set_weight),
        teacher=teacher,
        teacher_info=_file_info(args.teacher, teacher_meta) if teacher is not None else {},
    )
    if args.resume:
        job.resume(args.resume)
    elif args.init:
        from .distill import initial_model

        init, init_meta = initial_model(args.init, args.init_member)
        if list(init_meta["species"]) != species:
            raise DataError(f"--init {args.init} has species {init_meta['species']}, the data {species} (pass --species)")
        job.start(init.config, init=init)
    else:
        torch.manual_seed(args.seed)
        config = {
            "descriptor": _descriptor_of(args.descriptor_of) if args.descriptor_of else descriptor_config(args, train_sets[0].frames[0]),
            "species": species,
            "hidden": args.hidden,
            "activation": args.activation,
        }
        if args.mu_input:
            config["mu_input"] = True
        job.start(config)
    summary = job.run()
    print(summary)
    return 0


def _evaluate_sets(model, meta: Dict, sets: Sequence[Dataset], species: Optional[Sequence[str]] = None, batch_size: int = 8):
    """Predictions and metrics of a model (module or file) with metadata ``meta``
    (units, species, cutoff, dtype) on data sets; LAMMPS types map to ``species``
    (default: the model's order)."""
    from .evaluation import metrics, predict_items
    from .graph import prepare
    from .physics import hbar_for

    for ds in sets:
        if ds.units is not None and ds.units != meta["units"]:
            raise DataError(f"data set {ds.name} is in units {ds.units}, the model in {meta['units']}")
    names = species or meta["species"]
    type_map = {t + 1: meta["species"].index(n) for t, n in enumerate(names) if n in meta["species"]}
    dtype = torch.float64 if meta["dtype"] == "float64" else torch.float32
    frames = [f for ds in sets for f in ds.frames]
    items = prepare(frames, type_map, float(meta["cutoff"]), dtype=dtype, mu_input=meta.get("contract") == 2)
    pred = predict_items(model, items, hbar_for(meta["units"]), batch_size=batch_size, forces=frames[0].forces is not None)
    return pred, metrics(pred)


def cmd_evaluate(args) -> int:
    from .evaluation import headline
    from .export import load_model
    from .plots import parity_figure

    set_threads(args.threads)
    module, meta = load_model(args.model)
    module = module.to(args.device)
    sets = _load_sets(args.data, _column_map(args.column))
    pred, result = _evaluate_sets(module, meta, sets, args.species, args.batch_size)
    print(f"{sum(len(ds.frames) for ds in sets)} snapshots: " + headline(result))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        data = [ds.summary(args.out) for ds in sets]
        _write_json(os.path.join(args.out, "metrics.json"), {"model": portable_name(args.model, args.out), "data": data, "metrics": result})
        parity_figure(pred, result, os.path.join(args.out, "parity.png"), title=os.path.basename(args.model))
        print(f"wrote {args.out}/metrics.json and {args.out}/parity.png")
    return 0


def cmd_check(args) -> int:
    from .check import FAIL, check_model
    from .lammps import default_lmp

    set_threads(args.threads)
    lmp = None if args.no_lammps else (args.lmp or default_lmp())
    results = check_model(
        args.model, data=args.data, frame_index=args.frame, lmp=lmp, ranks=args.ranks, tol=args.tol,
        pair_style=args.pair_style, pair_coeff=args.pair_coeff, per_atom_energy=not args.no_per_atom_energy,
    )
    for r in results:
        print(r.line())
    failed = [r for r in results if r.status == FAIL]
    print(f"{len(results) - len(failed)} of {len(results)} checks passed, skipped or warned" + (f", {len(failed)} FAILED" if failed else ""))
    return 1 if failed else 0


def cmd_export(args) -> int:
    from .export import make_metadata, model_from_checkpoint, save_model

    model, ckpt = model_from_checkpoint(args.checkpoint)
    if not args.last:
        model.load_state_dict(ckpt["best_state"])
    extra = ckpt.get("extra", {})
    dataset = relocate_provenance(extra.get("dataset", {}), os.path.dirname(args.checkpoint), os.path.dirname(args.output) or ".")
    meta = make_metadata(
        model,
        units=extra.get("units", "lj"),
        reference=extra.get("reference", {}),
        dataset=dataset,
        metrics=extra.get("metrics", {}),
        description=args.description or extra.get("description", ""),
    )
    save_model(model, args.output, meta, "float32" if args.float32 else "float64")
    print(f"wrote {args.output}")
    return 0


def cmd_convert(args) -> int:
    from .convert import convert

    member = None if args.member is None else args.member - 1
    model, meta = convert(args.model, args.output, "float32" if args.float32 else "float64", member)
    what = f"member {args.member} of {meta['derived_from']['members']}" if member is not None else "the model"
    print(f"wrote {args.output}: {what}, {meta['dtype']}, MLP {meta['model']['hidden']}")
    return 0


def cmd_committee(args) -> int:
    from .committee import committee_metadata, load_member, merge
    from .evaluation import headline
    from .export import make_metadata, save_model
    from .plots import parity_figure
    from .workflow import describe_model

    set_threads(args.threads)
    loaded = [load_member(p) for p in args.checkpoints]
    members, extras = [m for m, _ in loaded], [ckpt.get("extra", {}) for _, ckpt in loaded]
    model = merge(members)
    extra = extras[0]
    units = extra.get("units", "lj")
    description = args.description or extra.get("description") or describe_model(model, extra.get("reference", {}), len(members))
    result: Dict[str, Dict] = {}
    dataset = relocate_provenance(extra.get("dataset", {}), os.path.dirname(args.checkpoints[0]), args.out)
    meta = make_metadata(model, units, extra.get("reference", {}), dataset, result, description)
    os.makedirs(args.out, exist_ok=True)
    for name, names in (("validation", args.valid), ("test", args.test)):
        if not names:
            continue
        sets = _load_sets(names, _column_map(None))
        pred, result[name] = _evaluate_sets(model, meta, sets)  # meta: units, species, cutoff, dtype
        print(f"{name} ({sum(len(ds.frames) for ds in sets)} snapshots): {headline(result[name])}")
        parity_figure(pred, result[name], os.path.join(args.out, f"parity_{name}.png"), title=f"committee, {name} snapshots")
    names = [portable_name(p, args.out) for p in args.checkpoints]  # no absolute paths in the metadata
    meta["committee"] = committee_metadata(names, [e.get("metrics", {}) for e in extras])
    _write_json(os.path.join(args.out, "metrics.json"), result)
    save_model(model, os.path.join(args.out, "model.pt"), meta, "float64")
    print(f"wrote {args.out}/model.pt (mean of {len(members)} networks, {sum(p.numel() for p in model.parameters())} parameters)")
    return 0


def cmd_info(args) -> int:
    from .export import load_model

    module, meta = load_model(args.model)
    meta = dict(meta)
    n_param = sum(p.numel() for p in module.parameters())
    if not args.full:
        meta.pop("dataset", None)
    print(json.dumps(meta, indent=1))
    print(f"parameters: {n_param}, file size: {os.path.getsize(args.model)} bytes")
    return 0


def cmd_card(args) -> int:
    from .card import model_card

    set_threads(args.threads)
    text = model_card(args.model, args.timing_size)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


def cmd_describe(args) -> int:
    from .model import descriptor_from_config

    args.n_species = args.species_count
    if args.descriptor == "lattice" and args.lattice == "auto":
        args.lattice = "square"
    cfg = descriptor_config(args, None)
    desc = descriptor_from_config(cfg)
    print(json.dumps({"config": cfg, "cutoff": desc.cutoff, **desc.summary}, indent=1))
    return 0


def cmd_data_info(args) -> int:
    from .physics import transverse

    for ds in _load_sets(args.data, _column_map(args.column), require_energy=False):
        spins = np.concatenate([f.spins for f in ds.frames])
        fm = np.concatenate([f.fm for f in ds.frames])
        t = transverse(torch.tensor(fm), torch.tensor(spins)).numpy()
        par = (fm * spins).sum(1) / np.linalg.norm(spins, axis=1)
        info = ds.summary()
        info.pop("sha256")
        info["steps"] = [ds.frames[0].step, ds.frames[-1].step]
        info["dimension"] = ds.dimension
        info["fm_parallel_mean_std"] = [float(par.mean()), float(par.std())]
        info["fm_transverse_rms"] = float(np.sqrt((t * t).sum(1).mean()))
        energies = [f.energy / f.n_atoms for f in ds.frames if f.energy is not None]
        if energies:
            info["energy_per_atom_min_max"] = [min(energies), max(energies)]
        info["extra_columns"] = sorted(ds.frames[0].extra)
        mus = [f.mu for f in ds.frames if f.mu is not None]
        if mus:  # the reference's mu, or the mu column of canonical data
            info["mu_min_max"] = [min(mus), max(mus)]
        try:
            info["lattice"] = detect_lattice(ds.frames[0])
        except (DataError, ValueError) as e:
            info["lattice"] = f"not identified ({e})"
        print(json.dumps(info, indent=1))
    return 0


def cmd_toy_data(args) -> int:
    from .toy_sd import SDModel, generate

    model = SDModel(hop=tuple(args.hop), J=args.J, filling=args.filling, kT=args.kT)
    frames = generate(
        args.name, lattice=args.lattice, size=args.size, model=model, n_random=args.random, n_quench=args.quench,
        quench_steps=args.quench_steps, quench_every=args.quench_every, seed=args.seed,
    )
    print(f"wrote {args.name}.dump and {args.name}.energy: {len(frames)} snapshots of {frames[0].n_atoms} sites ({model.header()})")
    return 0


# ----------------------------------------------------------------------------
# parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlspin-train",
        description="Train, export and check machine-learned spin models for pair_style mlspin.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"mlspin_train {__version__}")
    sub = p.add_subparsers(dest="command", metavar="command")
    sub.required = True

    def command(name, help_text, func):
        c = sub.add_parser(name, help=help_text, description=help_text, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        c.set_defaults(func=func)
        c.add_argument("--threads", type=int, default=max(1, os.cpu_count() or 1), help="intra-op threads of torch")
        if name in ("train", "evaluate"):
            c.add_argument("--device", default="cpu", help="torch device, e.g. cuda (needs a CUDA build of torch)")
        return c

    t = command("train", "Fit a model to data sets and export it (model.pt, metrics.json, figures).", cmd_train)
    t.add_argument("data", nargs="+", help="training data sets (NAME for NAME.dump + NAME.energy)")
    t.add_argument("--out", required=True, help="output folder")
    d = t.add_argument_group("data")
    d.add_argument("--valid", nargs="+", help="validation data sets (default: whole training data sets held out, see --val-fraction)")
    d.add_argument("--test", nargs="+", help="held-out data sets, evaluated once at the end")
    d.add_argument("--val-fraction", type=float, default=0.1, help="without --valid: whole training data sets (trajectories) in a seeded random order are held out for validation, the first always, more while they hold at most this fraction of the snapshots; a single data set: one contiguous block of this fraction of its snapshots")
    d.add_argument("--species", nargs="+", help="species names of LAMMPS types 1, 2, ... (pair_coeff * * model.pt NAMES)")
    d.add_argument("--units", help="LAMMPS unit style, if the .energy files do not say")
    d.add_argument("--column", nargs="+", metavar="NAME=COL", help="dump column names differing from the documented ones, e.g. spx=c_s[1]")
    d.add_argument("--set-weight", nargs="+", metavar="PATTERN=W", help="loss weight of the training sets whose names match PATTERN (shell pattern, e.g. 'train_q*=5'; default 1): a snapshot of weight W counts as W copies")
    d.add_argument("--allow-mixed-reference", action="store_true", help="accept data sets whose reference Hamiltonians differ")
    _add_descriptor_options(t)
    m = t.add_argument_group("network")
    m.add_argument("--hidden", type=_hidden, default=[128, 128, 64], help="hidden layer sizes, e.g. 256,128,64")
    m.add_argument("--activation", choices=["silu", "tanh", "softplus", "gelu"], default="silu")
    m.add_argument("--mu-input", action="store_true", help="the chemical potential mu as one more (standardised) input: local grand potentials omega_i(S; mu), n_i = -d omega_i/d mu, a contract 2 model for pair_style mlspin mu/filling (data with each snapshot's mu, see doc/training.rst)")
    o = t.add_argument_group("optimisation")
    o.add_argument("--epochs", type=int, default=300)
    o.add_argument("--batch-size", type=int, default=4, help="snapshots per step")
    o.add_argument("--lr", type=float, default=2e-3, help="initial learning rate (Adam)")
    o.add_argument("--lr-min", type=float, default=1e-5)
    o.add_argument("--lr-factor", type=float, default=0.5, help="plateau schedule: factor on each reduction")
    o.add_argument("--lr-patience", type=int, default=10, help="plateau schedule: epochs without improvement before a reduction")
    o.add_argument("--schedule", choices=["plateau", "cosine", "constant"], default="plateau")
    o.add_argument("--patience", type=int, default=40, help="early stopping after this many epochs without improvement")
    o.add_argument("--weight-decay", type=float, default=0.0)
    o.add_argument("--w-transverse", type=float, default=1.0, help="weight of the transverse field loss")
    o.add_argument("--w-field", type=float, default=0.1, help="weight of the full field loss")
    o.add_argument("--w-energy", type=float, default=0.1, help="weight of the energy-per-atom loss")
    o.add_argument("--w-force", type=float, default=0.0, help="weight of the force loss (data with fx fy fz)")
    o.add_argument("--w-density", type=float, default=1.0, help="--mu-input: weight of the loss on the local electron numbers n_i = -d omega_i/d mu (dump column ne)")
    o.add_argument("--seed", type=int, default=0)
    o.add_argument("--resume", help="continue from a checkpoint (checkpoint_last.pt) with the same data arguments")
    o.add_argument("--init", metavar="MODEL", help="start from the network, descriptor and feature statistics of a model file written by mlspin-train (descriptor and network options are ignored)")
    o.add_argument("--init-member", type=int, metavar="K", help="with --init: member K (1-based) of a committee file")
    o.add_argument("--descriptor-of", metavar="MODEL", help="the descriptor configuration of a model file (e.g. the teacher's) instead of the descriptor options")
    o.add_argument("--teacher", metavar="MODEL", help="distillation: the training snapshots' energies and fields are this model file's (e.g. a committee), so they need no reference labels; --valid and --test keep theirs")
    e = t.add_argument_group("export")
    e.add_argument("--description", default="", help="text for the model metadata")
    e.add_argument("--float32", action="store_true", help="also export model_float32.pt")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    ev = command("evaluate", "Metrics and parity plots of a model file on data sets.", cmd_evaluate)
    ev.add_argument("model")
    ev.add_argument("data", nargs="+")
    ev.add_argument("--out", help="folder for metrics.json and parity.png")
    ev.add_argument("--species", nargs="+", help="species names of LAMMPS types 1, 2, ... (default: the model's order)")
    ev.add_argument("--column", nargs="+", metavar="NAME=COL")
    ev.add_argument("--batch-size", type=int, default=8)

    c = command("check", "Validate a model file against the contract and compare with pair_style mlspin.", cmd_check)
    c.add_argument("model")
    c.add_argument("--data", help="data set or dump with the test snapshot (default: generated from the model metadata)")
    c.add_argument("--frame", type=int, default=0, help="snapshot index in --data")
    c.add_argument("--lmp", help="LAMMPS executable with the mlspin plugin (default: build/lmp of the repository)")
    c.add_argument("--no-lammps", action="store_true", help="skip the LAMMPS comparison")
    c.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="MPI rank counts for the LAMMPS comparison")
    c.add_argument("--tol", type=float, help="relative tolerance (default 1e-10 float64, 1e-4 float32)")
    c.add_argument("--pair-style", default="mlspin", help="pair_style arguments")
    c.add_argument("--pair-coeff", default="* * {model} {species}", help="pair_coeff arguments; {model} and {species} are filled in")
    c.add_argument("--no-per-atom-energy", action="store_true", help="do not compare per-atom energies")

    cv = command("convert", "Write a model file from a model file: one member of a committee, single precision.", cmd_convert)
    cv.add_argument("model", help="a model file written by mlspin-train (train, committee or convert)")
    cv.add_argument("output")
    cv.add_argument("--member", type=int, help="only member K (1-based) of a committee file: 1/K of the network's cost; its constant energy offset is matched to the committee's mean on random spins")
    cv.add_argument("--float32", action="store_true", help="single precision (about half the cost of float64)")

    x = command("export", "Write a TorchScript model file from a training checkpoint.", cmd_export)
    x.add_argument("checkpoint")
    x.add_argument("output")
    x.add_argument("--float32", action="store_true", help="export in single precision")
    x.add_argument("--last", action="store_true", help="the last state instead of the best validated one")
    x.add_argument("--description", help="replace the description")

    cm = command("committee", "Merge fits of the same data (other seeds) into one model file: the mean of their networks.", cmd_committee)
    cm.add_argument("checkpoints", nargs="+", help="checkpoint_best.pt of each fit (same descriptor, network and training data)")
    cm.add_argument("--out", required=True, help="output folder (model.pt, metrics.json, parity plots)")
    cm.add_argument("--valid", nargs="+", help="validation data sets to evaluate the committee on")
    cm.add_argument("--test", nargs="+", help="held-out data sets to evaluate the committee on")
    cm.add_argument("--description", help="text for the model metadata (default: from the first fit)")

    i = command("info", "Print the metadata of a model file.", cmd_info)
    i.add_argument("model")
    i.add_argument("--full", action="store_true", help="include the data set provenance")

    cd = command("card", "Write a Markdown model card: reference, data, held-out metrics, size, cost per spin.", cmd_card)
    cd.add_argument("model")
    cd.add_argument("--out", help="Markdown file (default: print)")
    cd.add_argument("--timing-size", type=int, default=64, help="L of the L x L lattice on which the cost is measured")

    ds = command("describe", "Feature counts of a descriptor configuration (no data needed).", cmd_describe)
    _add_descriptor_options(ds)
    ds.add_argument("--species-count", type=int, default=1, help="continuous descriptor: number of species")

    di = command("data-info", "Summarize data sets: snapshots, units, reference, fields, lattice.", cmd_data_info)
    di.add_argument("data", nargs="+")
    di.add_argument("--column", nargs="+", metavar="NAME=COL")

    ty = command("toy-data", "Write a small data set from a built-in exact diagonalization (for trying the tool; the reference is pair_style sd/tb).", cmd_toy_data)
    ty.add_argument("name", help="output NAME (writes NAME.dump and NAME.energy)")
    ty.add_argument("--lattice", choices=["square", "triangular"], default="square")
    ty.add_argument("--size", type=int, default=6, help="L for an L x L periodic lattice")
    ty.add_argument("--hop", type=float, nargs="+", default=[1.0], help="hopping by neighbor shell")
    ty.add_argument("--J", type=float, default=6.0, help="s-d coupling")
    ty.add_argument("--filling", type=float, default=0.485, help="electrons per site and spin orientation")
    ty.add_argument("--kT", type=float, default=0.02, help="electron temperature")
    ty.add_argument("--random", type=int, default=20, help="random spin configurations")
    ty.add_argument("--quench", type=int, default=2, help="T = 0 quenches from random spins")
    ty.add_argument("--quench-steps", type=int, default=40)
    ty.add_argument("--quench-every", type=int, default=5, help="snapshot interval along a quench")
    ty.add_argument("--seed", type=int, default=1)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataError, ValueError, FileNotFoundError) as e:
        print(f"mlspin-train {args.command}: error: {e}", file=sys.stderr)
        return 2
