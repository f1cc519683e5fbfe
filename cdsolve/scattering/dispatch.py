"""The public solve: checks the dipole model's validity once, then one coherent solve or one per group.

:func:`solve` is the only function that knows both kinds of solution: a coherent
:class:`~cdsolve.scattering.solver.Solution` (:func:`~cdsolve.scattering.solver.solve_coherent`) and an
:class:`~cdsolve.scattering.coherence.IncoherentSolution` (mutually incoherent beam groups,
:func:`~cdsolve.scattering.coherence.solve_incoherent`). Both expose the same observables and
``coherent_parts``, so nothing downstream has to ask which one it holds.

Before anything else (validity check, assembly) it estimates the memory of the whole solve (all
incoherent groups) and refuses with :class:`~cdsolve.scattering.solver.ResourceError` when it does not fit,
unless ``force=True``.
"""

from __future__ import annotations

from ..optics.beams import IncoherentBeams, coherent_groups
from .coherence import IncoherentSolution, solve_incoherent
from .scene import Scene
from .solver import (
    Solution,
    SolveMethod,
    check_resources,
    check_solve_options,
    solve_coherent,
)
from .validity import check_dipole_validity

__all__ = ["solve"]


def solve(
    scene: Scene,
    *,
    method: SolveMethod = "auto",
    orders: int | None = None,
    rtol: float = 1e-10,
    maxiter: int = 500,
    check_validity: bool = True,
    force: bool = False,
    x0=None,
) -> Solution | IncoherentSolution:
    """Solve the coupled electric + magnetic dipole equations of ``scene``.

    Parameters
    ----------
    scene : Scene
    method : {"auto", "direct", "iterative", "fft", "fmm"}
        Operator backend and solver (:func:`cdsolve.scattering.solver.choose_backend`): ``"direct"`` dense LU,
        ``"iterative"`` dense blocks + GMRES, ``"fft"`` FFT convolution on a grid (particles on a lattice;
        :class:`cdsolve.scattering.operators.LatticeMismatchError` otherwise) + GMRES, ``"fmm"`` fast
        multipoles for any positions (:class:`cdsolve.scattering.operators.BackendUnavailableError` without
        fmm3dpy); ``"auto"`` picks dense LU for small N, FFT for lattices of N >= 300, dense GMRES otherwise.
        The choice and why: ``Solution.info["backend"]``.
    orders : int, optional
        Number of scattering events instead of the self-consistent solution (0 = no coupling,
        1 = single scattering).
    rtol : float
        Tolerance on the true relative residual ``||u_inc - A u|| / ||u_inc||`` of every method, in
        [2.2e-16, 1); above it :class:`cdsolve.scattering.solver.SolveAccuracyWarning` (residual, rtol,
        condition estimate).
    maxiter : int
        Cap (>= 1) on the matrix-vector products of the iterative solver (GMRES(60); the true-residual
        checks count too) before falling back to the direct solve.
    check_validity : bool
        Warn (:class:`cdsolve.scattering.validity.DipoleValidityWarning`, with the estimated error) when a
        particle's size or a gap leaves the range where the dipole model is accurate.
    force : bool
        Solve even when the estimated memory (:func:`cdsolve.scattering.solver.estimate_resources`, all
        incoherent groups together) exceeds the available memory; otherwise
        :class:`cdsolve.scattering.solver.ResourceError` is raised before anything large is allocated.
    x0 : Solution, optional
        Warm start for the iterative backends: a previous solution of a scene with the same particles
        (a nearby configuration in a sweep, the previous step of a trajectory). It changes the number of
        GMRES products (``info["matvecs"]``), not the answer (the stopping rule is on the true residual);
        the direct solve ignores it. With incoherent groups, a previous :class:`IncoherentSolution`.

    Returns
    -------
    Solution
        Or, when the illumination is :class:`cdsolve.optics.beams.IncoherentBeams`, an
        :class:`cdsolve.scattering.coherence.IncoherentSolution` (one solution per coherent group,
        quadratic observables summed over groups).

    Examples
    --------
    >>> import cdsolve as cd
    >>> scene = cd.Scene(positions=[[0, 0, 0], [0, 0, 600e-9]], particles=cd.Sphere(radius=50e-9, index=1.45),
    ...                  illumination=cd.PlaneWave(wavelength=1064e-9, intensity=1e9))
    >>> sol = cd.solve(scene)
    >>> sol.p.shape, sol.info["residual"] < 1e-12
    ((2, 3), True)
    """
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a cdsolve.Scene, got {type(scene).__name__}")
    check_solve_options(method, orders, rtol, maxiter, force)
    n_groups = len(coherent_groups(scene.illumination))
    check_resources(scene, method=method, orders=orders, maxiter=maxiter, n_solves=n_groups, force=force)
    options = dict(method=method, orders=orders, rtol=rtol, maxiter=maxiter, force=force)
    if check_validity:
        check_dipole_validity(scene, stacklevel=2)  # the warning points at the caller's solve() line
    if isinstance(scene.illumination, IncoherentBeams):
        return solve_incoherent(scene, check_validity=False, x0=x0, **options)
    if isinstance(x0, IncoherentSolution):
        raise TypeError("x0: an IncoherentSolution cannot warm-start a coherent solve")
    return solve_coherent(scene, x0=x0, **options)
