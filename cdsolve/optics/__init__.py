"""Layer 1, building blocks with no scene: conventions, Green tensors, materials, polarizabilities,
beams and focusing, fields of point dipoles, Casimir-Polder (fluctuation) forces of polarizable spheres.

Imports only NumPy/SciPy and modules of this layer (the Mie coefficients are our own, :mod:`cdsolve.optics.mie`; miepython is a test oracle) (checked by import-linter, see
``ARCHITECTURE.md``).
"""
