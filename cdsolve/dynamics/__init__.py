"""Layer 3, linear dynamics: force Jacobians, equilibria, ``LinearModel``, modes and exceptional
points, non-reciprocity factors, parameter paths, batched small scenes, recoil noise, Langevin export.

Imports only :mod:`cdsolve.scattering` and :mod:`cdsolve.optics` from below.
"""
