"""PNG figures (matplotlib, Agg): parity plots and loss curves."""

from __future__ import annotations

from typing import Dict, List

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .physics import transverse  # noqa: E402


def _parity(ax, pred: np.ndarray, ref: np.ndarray, title: str, label: str, r2: float) -> None:
    pred = pred.ravel()
    ref = ref.ravel()
    lo = float(min(pred.min(), ref.min()))
    hi = float(max(pred.max(), ref.max()))
    pad = 0.03 * (hi - lo + 1e-12)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.5", lw=0.8, zorder=0)
    ax.scatter(ref, pred, s=3, alpha=0.4, lw=0)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    ax.set_xlabel(f"reference {label}")
    ax.set_ylabel(f"model {label}")
    ax.set_title(f"{title}\nR$^2$ = {r2:.5f}, RMSE = {np.sqrt(np.mean((pred - ref) ** 2)):.3g}", fontsize=9)


def parity_figure(pred: Dict, metrics: Dict, path: str, title: str = "") -> None:
    """Field components, transverse field components and energy per atom."""
    panels = 3 if "energy_ref" in pred else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 4.4))
    spin = pred["spin"]
    _parity(axes[0], pred["fm"].numpy(), pred["fm_ref"].numpy(), "fm components", "fm", metrics["field"]["r2"])
    _parity(
        axes[1],
        transverse(pred["fm"], spin).numpy(),
        transverse(pred["fm_ref"], spin).numpy(),
        "transverse fm components (perp. to S)",
        "fm$_\\perp$",
        metrics["transverse_field"]["r2"],
    )
    if panels == 3:
        atoms = pred["atoms"].numpy()
        _parity(
            axes[2],
            pred["energy"].numpy() / atoms,
            pred["energy_ref"].numpy() / atoms,
            "energy per atom",
            "E/N",
            metrics["energy_per_atom"]["r2"],
        )
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def loss_figure(history: List[Dict], path: str) -> None:
    """Training and validation loss, validation transverse RMSE and learning rate."""
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.semilogy(epochs, [h["train_loss"] for h in history], label="train loss")
    ax1.semilogy(epochs, [h["val_loss"] for h in history], label="validation loss")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("weighted normalized loss")
    ax1.legend()
    ax2.semilogy(epochs, [h["val_transverse_rmse"] for h in history], color="C2", label="validation RMSE fm$_\\perp$")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("RMSE of transverse fm")
    twin = ax2.twinx()
    twin.semilogy(epochs, [h["lr"] for h in history], color="0.6", ls="--", label="learning rate")
    twin.set_ylabel("learning rate")
    lines = ax2.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax2.legend(lines[0] + more[0], lines[1] + more[1])
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
