"""scalinglib: the small library behind *scaling-book*.

Modules by concept: :mod:`~scalinglib.laws` (functional forms), :mod:`~scalinglib.fitting`
(one robust fitter + bootstrap), :mod:`~scalinglib.allocation` (compute-optimal N and D),
:mod:`~scalinglib.data` (hash-checked data registry), :mod:`~scalinglib.claims` (the
reproduction harness) and :mod:`~scalinglib.plots` (Altair charts).
"""

from . import allocation, claims, data, fitting, laws
from .claims import begin, check, explain, record

__all__ = ["allocation", "claims", "data", "fitting", "laws", "begin", "check", "explain", "record"]
__version__ = "0.1.0"
