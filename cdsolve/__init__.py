"""cdsolve: electric + magnetic coupled-dipole solver for optical binding of levitated nanoparticles.

Data flows one way: ``Scene`` (particles, beams, medium) -> :func:`solve` -> ``Solution``
(dipoles, local fields) -> observables (forces, torques, cross sections) -> ``LinearModel``
(stiffness, modes, drift/diffusion) -> exports. The layers are subpackages, each importing only
from the ones below it (``ARCHITECTURE.md``):

1. :mod:`cdsolve.optics` -- building blocks with no scene (conventions, Green tensors, materials,
   polarizabilities, beams, dipole fields, Casimir-Polder forces);
2. :mod:`cdsolve.scattering` -- ``Scene``, the coupled-dipole solve, observables;
3. :mod:`cdsolve.dynamics` -- Jacobians, ``LinearModel``, modes, non-reciprocity, recoil noise;
4. :mod:`cdsolve.theory` -- closed forms of the literature (two tweezers, chains, cooling, potentials);
   :mod:`cdsolve.experiment` -- meeting measured data (system identification from position traces);
5. :mod:`cdsolve.workflow` -- geometry builders, configs, files, plots, sweeps, command line.

Conventions (SI, ``exp(-i omega t)``, ``p = alpha_e E``, ``m = alpha_m H``) are in
:mod:`cdsolve.optics.conventions`.

>>> import cdsolve as cd
>>> scene = cd.Scene(positions=[[-300e-9, 0, 0], [300e-9, 0, 0]],
...                  particles=cd.Sphere(radius=50e-9, index=1.45),
...                  illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
>>> f = cd.solve(scene).interaction_forces()
>>> f.shape
(2, 3)
"""

from ._version import __version__
from .optics import beams, casimir, conventions, dipole_fields, focusing, green, materials, polarizability
from .optics.beams import BeamSum, GaussianTweezer, PlaneWave
from .optics.focusing import FocusedBeam
from .optics.materials import Medium
from .optics.polarizability import DipoleParticle, Ellipsoid, KerkerParticle, Sphere
from .scattering import coherence, decomposition, dispatch, observables, scene, solver, validity
from .scattering.coherence import IncoherentBeams, IncoherentSolution, solve_incoherent
from .scattering.decomposition import decompose_forces, pairwise_forces
from .scattering.dispatch import solve
from .scattering.scene import Scene
from .scattering.solver import ResourceError, SeriesDivergenceWarning, Solution, SolveAccuracyWarning, interaction_matrix
from .scattering.validity import DipoleValidityWarning, check_dipole_validity, dipole_validity
from .dynamics import (batch_scenes, jacobian, langevin, linear_model, modes, nonlinear, nonreciprocity,
                       parameter_paths, recoil_noise, spectra, trajectories)
from .dynamics.nonlinear import simulate_nonlinear
from .dynamics.spectra import displacement_psd, susceptibility
from .dynamics.trajectories import simulate_linear
from .dynamics.jacobian import force_jacobian
from .dynamics.langevin import LangevinModel, langevin_model
from .dynamics.linear_model import LinearModel, equilibrium, linearize
from .dynamics.nonreciprocity import nonreciprocity_factors
from .dynamics.recoil_noise import recoil_diffusion
from .theory import binding_potentials, chains, sympathetic_cooling, two_tweezer
from .experiment import identification
from .experiment.identification import IdentifiedModel, identify
from .workflow import config, geometry
from .workflow.config import load_scene

# Names of version 0.1 (flat layout) kept as aliases of the modules that hold the same content now.
batch = batch_scenes
models = two_tweezer
noise = recoil_noise
phases = parameter_paths
potentials = binding_potentials
sympathetic = sympathetic_cooling

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
    "load_scene",
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
    "SolveAccuracyWarning",
    "SeriesDivergenceWarning",
    "ResourceError",
    "dipole_validity",
    "check_dipole_validity",
    "recoil_diffusion",
    "LangevinModel",
    "langevin_model",
    "susceptibility",
    "displacement_psd",
    "simulate_linear",
    "simulate_nonlinear",
    "identify",
    "IdentifiedModel",
]
