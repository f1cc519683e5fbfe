"""Layer 2, the coupled-dipole core: ``Scene`` -> ``solve`` -> ``Solution`` -> observables.

Modules, bottom to top: ``scene`` (frozen input), ``observables`` (pure functions of a solution),
``solver`` (one coherent solve), ``coherence`` (mutually incoherent beam groups), ``validity``
(dipole-model error estimate), ``dispatch`` (the public ``solve``), ``decomposition`` (who pushes
whom). Imports only :mod:`cdsolve.optics` from below.
"""
