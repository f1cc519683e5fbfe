"""Layer 4, experiment: read measured data back into the model's terms.

:mod:`cdsolve.experiment.identification` identifies stiffness (non-reciprocal), damping and force
diffusion with error bars from position time traces. Imports only :mod:`cdsolve.dynamics` and below
(sibling of :mod:`cdsolve.theory`, independent of it).
"""

from .identification import IdentifiedModel, identify

__all__ = ["IdentifiedModel", "identify"]
