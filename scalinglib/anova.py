"""How much of the spread of scaling exponents is explained by the task, and how much by the architecture?

Hestness et al. 2017 claim (abstract) that the learning-curve exponent ``beta_g`` is set by the
task (the data) and that architectures, optimisers and losses only shift the curve. With one
exponent per (task, architecture) pair, that is a two-way analysis of variance.

Method: an additive two-way ANOVA without interaction, ``beta[t, a] = mu + tau_t + alpha_a + e[t, a]``,
fitted by least squares on dummy-coded factors. With one curve per cell the interaction cannot be
separated from noise: it is the residual. Each factor's sum of squares is its *type II* sum of
squares, the drop in residual sum of squares when the factor is added to a model that already holds
the other one: ``SS(task | arch) = RSS(arch) - RSS(task + arch)`` (and symmetrically). In a complete,
balanced table (every task with every architecture) type II equals the classical (type I) sums and
``SS(task) + SS(arch) + SS(residual) = SS(total)``. We report

* ``share = SS / SS(total)`` (eta squared): the fraction of the exponents' variance each source accounts
  for, e.g. ``exponent_share_task``. Under the null of no effect a factor's expected share is about
  ``df / (n - 1)``, so compare shares with that, or use
* the F statistic ``(SS / df) / (SS(residual) / df(residual))`` and its p-value (F distribution), and
* omega squared ``(SS - df * MS(residual)) / (SS(total) + MS(residual))``, a less biased effect size.

Uncertainty: :func:`bootstrap_shares` recomputes the shares for every bootstrap replicate of the
exponents (one refit per curve and replicate), which propagates the fitting uncertainty of each
curve into the shares.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

Array = NDArray[np.float64]

__all__ = ["two_way_anova", "anova_shares", "bootstrap_shares"]


def _dummies(levels: pd.Series) -> Array:
    """Treatment-coded indicator columns (first level dropped)."""
    codes, uniques = pd.factorize(levels, sort=True)
    out = np.zeros((len(levels), max(len(uniques) - 1, 0)))
    for j in range(1, len(uniques)):
        out[:, j - 1] = codes == j
    return out


def _rss(y: Array, *blocks: Array) -> float:
    x = np.column_stack([np.ones(len(y)), *blocks])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    r = y - x @ beta
    return float(r @ r)


def two_way_anova(df: pd.DataFrame, value: str, factors: Sequence[str] = ("task", "arch")) -> pd.DataFrame:
    """Additive two-way ANOVA of ``df[value]`` on two factors (type II sums of squares; see module docstring).

    Returns one row per source (each factor, ``residual``, ``total``) with columns ``df``, ``ss``,
    ``share`` (eta squared), ``omega_sq``, ``F`` and ``p``.
    """
    if len(factors) != 2:
        raise ValueError("two_way_anova takes exactly two factors")
    a, b = factors
    missing = [c for c in (value, a, b) if c not in df.columns]
    if missing:
        raise ValueError(f"df has no column(s) {missing}")
    d = df[[value, a, b]].dropna()
    y = d[value].to_numpy(dtype=float)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"df[{value!r}] must be finite")
    if len(y) < 3 or float(np.ptp(y)) == 0.0:
        raise ValueError(f"df[{value!r}] needs at least 3 values that are not all equal: there is no variance to share")
    xa, xb = _dummies(d[a]), _dummies(d[b])
    n = len(y)
    ss_total = float(np.sum((y - y.mean()) ** 2))
    rss_full = _rss(y, xa, xb)
    ss_a = _rss(y, xb) - rss_full
    ss_b = _rss(y, xa) - rss_full
    df_a, df_b = xa.shape[1], xb.shape[1]
    df_res = n - 1 - df_a - df_b
    ms_res = rss_full / df_res if df_res > 0 else float("nan")
    rows = []
    for name, ss, dof in ((a, ss_a, df_a), (b, ss_b, df_b)):
        f_stat = (ss / dof) / ms_res if dof > 0 and ms_res > 0 else float("nan")
        rows.append(
            {
                "source": name,
                "df": dof,
                "ss": ss,
                "share": ss / ss_total,
                "omega_sq": (ss - dof * ms_res) / (ss_total + ms_res),
                "F": f_stat,
                "p": float(stats.f.sf(f_stat, dof, df_res)) if np.isfinite(f_stat) else float("nan"),
            }
        )
    rows.append({"source": "residual", "df": df_res, "ss": rss_full, "share": rss_full / ss_total})
    rows.append({"source": "total", "df": n - 1, "ss": ss_total, "share": 1.0})
    return pd.DataFrame(rows)


def anova_shares(df: pd.DataFrame, value: str, factors: Sequence[str] = ("task", "arch")) -> dict[str, float]:
    """``{factor: share, ..., "residual": share}`` from :func:`two_way_anova`."""
    t = two_way_anova(df, value, factors)
    return {r.source: float(r.share) for r in t.itertuples() if r.source != "total"}


def bootstrap_shares(
    cells: pd.DataFrame, boot_values: Array, factors: Sequence[str] = ("task", "arch")
) -> pd.DataFrame:
    """Shares for each bootstrap replicate: ``boot_values[k, i]`` is replicate ``k`` of the value of row ``i``
    of ``cells`` (which holds the factor columns). Returns one row per replicate, one column per source."""
    boot_values = np.asarray(boot_values, dtype=float)
    if boot_values.ndim != 2 or boot_values.shape[1] != len(cells):
        raise ValueError(f"boot_values must have shape (n_boot, {len(cells)}), got {boot_values.shape}")
    base = cells[list(factors)].reset_index(drop=True)
    out = [anova_shares(base.assign(_v=row), "_v", factors) for row in boot_values]
    return pd.DataFrame(out)
