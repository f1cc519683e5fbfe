"""cdsolve: electric + magnetic coupled-dipole solver for optical binding of levitated nanoparticles.

Data flows one way: ``Scene`` (particles, beams, medium) -> :func:`solve` -> ``Solution``
(dipoles, local fields) -> observables (forces, torques, cross sections).
Conventions (SI, ``exp(-i omega t)``, ``p = alpha_e E``, ``m = alpha_m H``) are in
:mod:`cdsolve.conventions`.

>>> import cdsolve as cd
>>> scene = cd.Scene(positions=[[-300e-9, 0, 0], [300e-9, 0, 0]],
...                  particles=cd.Sphere(radius=50e-9, index=1.45),
...                  illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
>>> f = cd.solve(scene).interaction_forces()
>>> f.shape
(2, 3)
"""

__version__ = "0.1.0"

from .beams import BeamSum, GaussianTweezer, PlaneWave  # noqa: E402
from .materials import Medium  # noqa: E402
from .polarizability import DipoleParticle, Ellipsoid, KerkerParticle, Sphere  # noqa: E402
from .scene import Scene  # noqa: E402
from .solver import Solution, interaction_matrix, solve  # noqa: E402
from .jacobian import force_jacobian  # noqa: E402
from .linearize import LinearModel, equilibrium, linearize  # noqa: E402
from .nonreciprocity import nonreciprocity_factors  # noqa: E402
from .focusing import FocusedBeam  # noqa: E402
from .noise import recoil_diffusion  # noqa: E402
from .langevin import LangevinModel, langevin_model  # noqa: E402
from .coherence import IncoherentBeams, IncoherentSolution, solve_incoherent  # noqa: E402
from .decomposition import decompose_forces, pairwise_forces  # noqa: E402
from .validity import DipoleValidityWarning, check_dipole_validity, dipole_validity  # noqa: E402
from . import (batch, casimir, chains, coherence, decomposition, focusing, geometry, langevin, models,  # noqa: E402,F401
               modes, noise, phases, potentials, sympathetic, validity)

__all__ = [
    "Medium",
    "Sphere",
    "Ellipsoid",
    "KerkerParticle",
    "DipoleParticle",
    "PlaneWave",
    "GaussianTweezer",
    "BeamSum",
    "FocusedBeam",
    "Scene",
    "solve",
    "Solution",
    "interaction_matrix",
    "force_jacobian",
    "linearize",
    "LinearModel",
    "equilibrium",
    "nonreciprocity_factors",
    "IncoherentBeams",
    "IncoherentSolution",
    "solve_incoherent",
    "decompose_forces",
    "pairwise_forces",
    "DipoleValidityWarning",
    "dipole_validity",
    "check_dipole_validity",
    "recoil_diffusion",
    "LangevinModel",
    "langevin_model",
]
