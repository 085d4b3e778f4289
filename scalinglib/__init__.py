"""scalinglib: the small library behind *scaling-book*.

One hop from here to any idea. The **concept core** holds what any chapter (or a reader fitting their
own runs) may use; the **papers layer**, :mod:`scalinglib.papers`, holds one module per chapter,
named after it, with what only that chapter needs.

=============================  =====================================================================
concept                        module
=============================  =====================================================================
functional forms               :mod:`~scalinglib.laws` (power, saturating, Hestness, Kaplan, Chinchilla, BNSL)
fitting                        :mod:`~scalinglib.fitting` (one fitter: batched L-BFGS over starts, polish; bootstrap)
learning curves                :mod:`~scalinglib.curves` (log binning, power-law region, curve fits, RMSLE)
IsoFLOP profiles               :mod:`~scalinglib.isoflop` (parabolas per budget, their minima, Approach 2)
compute-optimal allocation     :mod:`~scalinglib.allocation` (N, D and loss at a budget; Chinchilla law)
FLOP and parameter counting    :mod:`~scalinglib.flops`
analysis of variance           :mod:`~scalinglib.anova` (two-way ANOVA shares with bootstrap)
double descent                 :mod:`~scalinglib.double_descent` (sample-wise, minimum-norm least squares)
repeated sampling, pass@k      :mod:`~scalinglib.sampling`
Elo ratings                    :mod:`~scalinglib.elo` (Bradley-Terry by maximum likelihood)
fit your own runs              :mod:`~scalinglib.userfit` (``python -m scalinglib fit``)
training simulator (the lab)   :mod:`~scalinglib.simulator`
data registry                  :mod:`~scalinglib.data` (pooch, pinned commits, sha256)
claims harness                 :mod:`~scalinglib.claims` (kinds, statuses, ``begin``/``record``/``explain``/``check``)
running chapters               :mod:`~scalinglib.runner`, :mod:`~scalinglib.notebooks`, ``__main__`` (the CLI)
charts                         :mod:`~scalinglib.plots`, :mod:`~scalinglib.scorecard_plot`, :mod:`~scalinglib.vega_bundle`
the hosted site                :mod:`~scalinglib.site`
plumbing                       :mod:`~scalinglib.paths`, :mod:`~scalinglib.progress`
=============================  =====================================================================

=============================  =====================================================================
chapter                        module
=============================  =====================================================================
Hestness et al. 2017           :mod:`scalinglib.papers.hestness` (the laptop study)
Henighan, Kaplan, GPT-3        :mod:`scalinglib.papers.henighan`
Hoffmann et al. 2022           (the core: ``isoflop``, ``allocation``, ``flops``)
Besiroglu et al. 2024          :mod:`scalinglib.papers.besiroglu` (Huber likelihood, chi-squared and LR tests)
Caballero et al. 2022 (BNSL)   :mod:`scalinglib.papers.bnsl` and :mod:`scalinglib.papers.alabdulmohsin` (M1-M4)
inference-time scaling         :mod:`scalinglib.papers.inference`
Gadre et al. 2024              :mod:`scalinglib.papers.gadre`
=============================  =====================================================================
"""

from . import allocation, claims, data, fitting, laws
from .claims import begin, check, explain, record

__all__ = ["allocation", "claims", "data", "fitting", "laws", "begin", "check", "explain", "record"]
__version__ = "0.1.0"
