"""Layer 1, building blocks with no scene: conventions, Green tensors, materials, polarizabilities,
beams and focusing, fields of point dipoles, Casimir-Polder (fluctuation) forces of polarizable spheres.

Imports only NumPy/SciPy/miepython and modules of this layer (checked by import-linter, see
``ARCHITECTURE.md``).
"""
