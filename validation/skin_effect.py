#!/usr/bin/env python
"""Non-Hermitian skin effect and long-range lattice sums of optically bound chains (cdsolve.theory.chains).

Reference chain: Hatano-Nelson (textbook open spectrum 2 sqrt(tL tR) cos(m pi/(N+1)), localization
length 1/ln sqrt(tR/tL), winding -+1, end-to-end gain ratio (tR/tL)^(N-1)).

Optical chain (Rudolph et al. PRA 110, 063507 (2024), Sec. IV.B.5): tweezers along x with spacing
d = (2 pi n + pi/4)/k and phase gradient phi_j - phi_{j+1} = pi/4. The far-field pair formula applied
to every pair gives c_fwd(m) = S/(m kd) > 0 and c_bwd(m) = S cos(m pi/2)/(m kd) (0, -, 0, +, ...).
Checked against the full coupled-dipole solver (``linearize(scene, dofs="z")`` of a 40-particle chain,
injected into the chain diagnostics). Skin diagnostics of the hopping matrix -C (units S/kd):
open vs periodic spectra (closed-form infinite-range lattice sums, Li_1 = -log(1 - z)), spectral winding,
localization vs N, directional amplification (first-order/RWA response (omega + i gamma/2 - H)^-1,
omega and gamma in units of the nearest-neighbour rate g = S/(kd 2 m w0)).

Outputs validation/output/skin_effect.png and .json; prints PASS/FAIL lines with the measured numbers.

    /work/venv/bin/python validation/skin_effect.py
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # dense eig of <= 1000 x 1000: threads only contend on a busy machine

import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402

from cdsolve.theory import chains as ch  # noqa: E402
from cdsolve.optics.beams import GaussianTweezer  # noqa: E402
from cdsolve.dynamics.linear_model import linearize  # noqa: E402
from cdsolve.optics.materials import Medium  # noqa: E402
from cdsolve.theory.two_tweezer import TwoTweezerModel  # noqa: E402
from cdsolve.dynamics.parameter_paths import POWER, WAIST as W0, WAVELENGTH as LAM, SILICA_104NM  # noqa: E402
from cdsolve.scattering.scene import Scene  # noqa: E402

OUT = Path(__file__).resolve().parent / "output"
K = 2 * np.pi / LAM
PHI = np.pi / 4
KD = 2 * np.pi * 8 + np.pi / 4  # d = 12.8 um, far field
ALPHA = float(np.real(np.asarray(SILICA_104NM.alpha_e)).ravel()[0])
MASS = SILICA_104NM.particle_mass()
checks: list[tuple[str, bool, str]] = []


def check(name: str, ok: bool, detail: str) -> None:
    checks.append((name, bool(ok), detail))
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")


def chain_scene(n: int, kd: float, phi: float) -> Scene:
    """n silica spheres in parallel +z tweezers at x_j = j d, polarization y, phases -j phi."""
    pos = np.array([[j * kd / K, 0.0, 0.0] for j in range(n)])
    tw = [GaussianTweezer(wavelength=LAM, focus=p, waist=W0, power=POWER, polarization=(0, 1, 0), phase=float(-j * phi))
          for j, p in enumerate(pos)]
    return Scene(positions=pos, particles=SILICA_104NM, illumination=tw, medium=Medium(index=1.0))


def hatano_nelson_part(res: dict) -> dict:
    n, tl, tr = 40, 1.0, 1.5
    H = np.diag(np.full(n - 1, tr), -1) + np.diag(np.full(n - 1, tl), 1)  # injected nearest-neighbour couplings
    sa = ch.skin_analysis(H)
    err = float(np.max(np.abs(sa.eigenvalues - np.sort(ch.hatano_nelson_open_spectrum(n, tl, tr).real))))
    check("HN open spectrum = 2 sqrt(tL tR) cos(m pi/(N+1))", err < 1e-10, f"N = {n}, max error {err:.1e} (tol 1e-10)")
    xi = ch.hatano_nelson_localization_length(tl, tr)
    fits = ch.localization_scaling(lambda m: ch.hatano_nelson(m, tl, tr), [20, 40, 80])
    rel = max(float(np.max(np.abs(s.right.inverse_length * xi - 1))) for s in fits)
    check("HN localization length 1/ln sqrt(tR/tL) from fits", rel < 1e-2,
          f"xi = {xi:.4f} sites, worst relative fit error over all modes, N = 20/40/80: {rel:.1e} (tol 1e-2)")
    bl = lambda a, b: (lambda q: a * np.exp(1j * q) + b * np.exp(-1j * q))  # noqa: E731
    w = (ch.winding_number(bl(tl, tr), 0.0), ch.winding_number(bl(tr, tl), 0.0), ch.winding_number(bl(1.0, 1.0), 0.3j))
    check("HN winding numbers", w == (-1, 1, 0), f"tR > tL: {w[0]}, tL > tR: {w[1]}, reciprocal: {w[2]}")
    sizes = np.array([5, 10, 15, 20])  # chi_1N ~ 1e-10 at N = 20; beyond, it drops below eps cond(A) max|chi|
    amp = ch.amplification(lambda m: ch.hatano_nelson(m, 0.3, 1.0), sizes, 0.2, 1.0, "first-order")
    ratio_err = float(np.max(np.abs(amp.chi_n1 / amp.chi_1n / (1 / 0.3) ** (sizes - 1) - 1)))
    check("HN gain ratio chi_N1/chi_1N = (tR/tL)^(N-1)", ratio_err < 1e-8, f"N = 5...20, max relative error {ratio_err:.1e} (tol 1e-8)")
    res["hatano_nelson"] = dict(n=n, t_left=tl, t_right=tr, spectrum_error=err, xi=xi, xi_fit_rel_error=rel,
                                winding=list(w), gain_ratio_error=ratio_err, gain_rate_n1=amp.rate_n1,
                                gain_rate_1n=amp.rate_1n)
    return dict(H=H, sa=sa, amp=amp, sizes=sizes)


def lattice_sum_part(res: dict) -> dict:
    Ms = np.array([10, 30, 100, 300, 1000, 3000, 10000])
    theta, curves, slopes = 2.0, {}, {}
    for s, P in ((1, 0), (1, 1), (1, 2), (2, 0), (3, 0)):
        exact = ch.lattice_sum({s: 1.0}, theta)
        err = np.array([abs(ch.partial_lattice_sum({s: 1.0}, theta, M, P) - exact) for M in Ms])
        curves[f"s{s}_P{P}"] = err
        slopes[f"s{s}_P{P}"] = float(np.polyfit(np.log(Ms[2:]), np.log(err[2:]), 1)[0])
    ok = all(abs(slopes[f"s{s}_P{P}"] + s + P) < 0.06 for s, P in ((1, 0), (1, 1), (1, 2), (2, 0), (3, 0)))
    check("lattice sums: brute force -> closed form at rate M^-(s+P)", ok,
          "slopes " + ", ".join(f"{k} {v:.3f}" for k, v in slopes.items()) + " (expected -(s+P))")
    excess = [(ch.partial_lattice_sum({1: 1.0}, 0.0, M).real - np.log(M) - np.euler_gamma) * M for M in (100, 10000)]
    check("theta = 0: sum 1/m = ln M + gamma + 1/(2M) (Li_1 diverges)", abs(excess[-1] - 0.5) < 1e-3,
          f"(S_M - ln M - gamma) M = {excess[0]:.5f}, {excess[-1]:.5f} at M = 1e2, 1e4")
    res["lattice_sums"] = dict(theta=theta, M=Ms.tolist(), errors={k: v.tolist() for k, v in curves.items()},
                               slopes=slopes, harmonic_excess_times_M=excess)
    return dict(Ms=Ms, curves=curves)


def full_solver_part(res: dict) -> dict:
    n = 40
    t0 = time.perf_counter()
    lin = linearize(chain_scene(n, KD, PHI), dofs="z")
    t_lin = time.perf_counter() - t0
    C = -lin.stiffness.copy()
    np.fill_diagonal(C, 0.0)
    model = TwoTweezerModel(LAM, ALPHA, distance=KD / K, waist=W0, powers=(POWER, POWER), phases=(PHI, 0.0),
                            masses=(MASS, MASS))
    S = model.coupling_constant * KD
    f, b = ch.far_field_kernels(S, KD, PHI)
    Cff = ch.chain_couplings(f, n, b)
    dev = float(np.max(np.abs(C - Cff)) / (S / KD))
    check("full solver chain couplings vs pairwise far-field formula", dev < 1 / KD,
          f"N = {n}, max |C - C_ff| = {dev:.4f} S/kd (tol 1/kd = {1 / KD:.4f}); linearize {t_lin:.2f} s")
    m = np.arange(1, n)
    fwd, bwd = C[0, m] / (S / KD), C[m, 0] / (S / KD)
    even = m % 2 == 0
    ok = np.all(fwd > 0) and np.array_equal(np.sign(bwd[even]), (-1.0) ** (m[even] // 2)) and np.max(np.abs(bwd[~even])) < 0.01
    check("PRA IV.B.5 in the full solver: forward > 0, backward alternating", ok,
          f"min fwd {fwd.min():.4f}, bwd(2,4,6) = {bwd[1]:.4f}, {bwd[3]:.4f}, {bwd[5]:.4f}, max |bwd(odd)| = "
          f"{np.max(np.abs(bwd[~even])):.4f} (S/kd units)")
    D = lin.dynamical_matrix  # injected: skin diagnostics of the full linearized dynamics
    sa = ch.skin_analysis(D)
    w0 = float(np.sqrt(np.mean(np.diag(D))))
    res["full_solver"] = dict(n=n, kd=KD, phi=PHI, S_over_kd=S / KD, max_dev_over_S_kd=dev, fwd=fwd.tolist(),
                              bwd=bwd.tolist(), trap_frequency=w0, g_nn=S / KD / (2 * MASS * w0),
                              D_edge_first=float(sa.right.edge_first.mean()), D_edge_last=float(sa.right.edge_last.mean()),
                              D_inverse_length_median=float(np.median(sa.right.inverse_length)), linearize_s=t_lin)
    return dict(fwd=fwd, bwd=bwd, m=m, Dsa=sa)


def far_field_part(res: dict) -> dict:
    f, b = ch.far_field_kernels(KD, KD, PHI)  # S = kd: couplings in units of S/kd
    n = 200
    C = ch.chain_couplings(f, n, b)
    m = np.arange(1, n)
    bm = C[m, 0] * m  # = cos(m (kd + phi)); odd m: 0 up to the phase round-off m eps kd
    ok = np.all(C[0, m] > 0) and np.array_equal(np.where(np.abs(bm) > 1e-9, np.sign(bm), 0), np.round(np.cos(m * np.pi / 2)))
    check("far-field formula: forward > 0, backward 0, -, 0, + ...", ok, f"N = {n}, C[0, 1:4] = {np.round(C[0, 1:4], 4)}, "
          f"C[1:5, 0] = {np.round(C[1:5, 0], 4)}")
    H = -C
    bloch = lambda q: -ch.bloch_function(f, q, b)  # noqa: E731  closed-form infinite-range lattice sums
    sp = ch.open_vs_periodic_spectra(H, bloch=bloch, n_q=4096)
    q = np.linspace(0.01, 2 * np.pi - 0.01, 2000)
    q = q[np.min(np.abs(q[:, None] - np.array([np.pi / 2, 3 * np.pi / 2])[None, :]), axis=1) > 1e-3]
    im_dev = float(np.max(np.min(np.abs(bloch(q).imag[:, None] - np.pi / 2 * np.array([-1, 0, 1])[None, :]), axis=1)))
    off = ~sp.on_curve
    check("infinite-range Bloch loop encloses nothing (Im D in {0, +-pi/2}, W = 0)",
          im_dev < 1e-10 and np.all(sp.winding[off] == 0),
          f"max |Im D - nearest of 0, +-pi/2| = {im_dev:.1e}; W = 0 at {off.sum()} open eigenvalues, "
          f"{sp.on_curve.sum()} on the loop")
    trunc = {}
    for k in (1, 2, 3, 5, 10, 20, 50, 199):
        Hk = ch.truncate(H, k)
        lam = scipy.linalg.eigvals(Hk) if k > 1 else np.zeros(n)  # k = 1: nilpotent (Jordan block), spectrum {0}
        wk = ch.winding_number(lambda x, k=k: -ch.bloch_function(f, x, b, m_max=k), lam, undefined=0)
        trunc[k] = float(np.mean(wk != 0))
    sizes = [25, 50, 100, 200, 400, 800]
    t0 = time.perf_counter()
    scal = ch.localization_scaling(lambda s: -ch.chain_couplings(f, s, b), sizes)
    t_scal = time.perf_counter() - t0
    edge_first = [float(s.right.edge_first.mean()) for s in scal]
    edge_last = [float(s.right.edge_last.mean()) for s in scal]
    kappa = [float(np.median(s.right.inverse_length)) for s in scal]
    # directional amplification (first-order form): scan omega for the largest |chi_1N| growth
    big = -ch.chain_couplings(f, 160, b)
    sizes_amp = np.array([5, 10, 20, 40, 80, 160])
    omegas = np.linspace(-4.0, 2.0, 61)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        rates = [ch.amplification(big, sizes_amp, w, 1.0, "first-order").rate_1n for w in omegas]
        w_best = float(omegas[int(np.argmax(rates))])
        amp = ch.amplification(big, sizes_amp, w_best, 1.0, "first-order")
        amp_nn = ch.amplification(ch.truncate(big, 1), sizes_amp[:4], 0.0, 1.0, "first-order")  # its band centre
    check("far-field chain: directional amplification chi_1N (downstream of C_12) vs chi_N1", amp.rate_1n > 0 > amp.rate_n1,
          f"omega = {w_best:.2f} g, gamma = g: rates {amp.rate_1n:+.4f} vs {amp.rate_n1:+.4f} nepers/site; "
          f"|chi_1N| = {amp.chi_1n[-1]:.3g}, |chi_N1| = {amp.chi_n1[-1]:.3g} at N = 160")
    res["far_field_chain"] = dict(
        kd=KD, phi=PHI, n=n, winding_open=sp.winding.tolist(), on_curve=int(sp.on_curve.sum()),
        bloch_im_deviation=im_dev, fraction_nonzero_winding_vs_truncation=trunc, sizes=sizes,
        edge_first_right=edge_first, edge_last_right=edge_last, median_inverse_length_right=kappa,
        localization_scaling_s=t_scal, amplification=dict(omega=w_best, gamma=1.0, sizes=sizes_amp.tolist(),
                                                          chi_1n=amp.chi_1n.tolist(), chi_n1=amp.chi_n1.tolist(),
                                                          rate_1n=amp.rate_1n, rate_n1=amp.rate_n1,
                                                          nn_chi_1n=amp_nn.chi_1n.tolist()))
    print(f"INFO  fraction of open eigenvalues with W != 0 vs coupling range k: {trunc}")
    print(f"INFO  far-field chain, right eigenvectors vs N {sizes}: edge weight first 10 % {np.round(edge_first, 3)}, "
          f"last 10 % {np.round(edge_last, 3)}, median 1/xi {np.round(kappa, 5)} /site")
    return dict(H=H, sp=sp, f=f, b=b, scal=scal, sizes=sizes, edge_first=edge_first, edge_last=edge_last,
                kappa=kappa, amp=amp, amp_nn=amp_nn, sizes_amp=sizes_amp, w_best=w_best, trunc=trunc)


def timing_part(res: dict) -> None:
    f, b = ch.far_field_kernels(KD, KD, PHI)
    t0 = time.perf_counter()
    sa = ch.skin_analysis(-ch.chain_couplings(f, 1000, b))
    dt = time.perf_counter() - t0
    check("1000-site chain: spectrum + right/left localization < 10 s", dt < 10.0,
          f"{dt:.2f} s ({os.environ.get('OPENBLAS_NUM_THREADS')} BLAS thread(s)); max eigenvalue error bound "
          f"{sa.error_bound.max():.1e}")
    res["timing_1000_sites_s"] = dt


def main() -> int:
    t_start = time.time()
    OUT.mkdir(exist_ok=True)
    res: dict = {}
    hn = hatano_nelson_part(res)
    ls = lattice_sum_part(res)
    fs = full_solver_part(res)
    ff = far_field_part(res)
    timing_part(res)

    fig, ax = plt.subplots(2, 4, figsize=(19, 8.8))
    a = ax[0, 0]
    mm = np.arange(1, 21)
    a.plot(mm, 1 / mm, "-", c="C0", lw=1, label="far field: forward 1/m")
    a.plot(mm, np.cos(mm * np.pi / 2) / mm, "-", c="C3", lw=1, label="far field: backward cos(m pi/2)/m")
    a.plot(fs["m"][:20], fs["fwd"][:20], "o", c="C0", ms=4, label="full solver C[0, m]")
    a.plot(fs["m"][:20], fs["bwd"][:20], "s", c="C3", ms=4, mfc="none", label="full solver C[m, 0]")
    a.axhline(0, c="k", lw=0.5)
    a.set(xlabel="site separation m", ylabel="coupling / (S/kd)",
          title="(a) couplings vs distance, phi = pi/4, kd = 16pi + pi/4")
    a.legend(fontsize=7)

    a = ax[0, 1]
    sp = ff["sp"]
    curve = sp.bloch.copy()
    curve[np.abs(curve) > 8] = np.nan
    curve[np.abs(np.diff(curve, prepend=curve[-1])) > 0.3] = np.nan  # break the line at the log singularities
    a.plot(curve.real, curve.imag, "-", c="0.5", lw=1.5, label="periodic: closed-form lattice sum (W = 0)")
    qq = np.linspace(0, 2 * np.pi, 1500, endpoint=False)
    tr = -ch.bloch_function(ff["f"], qq, ff["b"], m_max=20)
    a.plot(tr.real, tr.imag, "-", c="C2", lw=0.6, label="periodic, range truncated at 20")
    a.plot(sp.open.real, sp.open.imag, ".", c="C1", ms=3, label="open chain N = 200")
    a.set(xlabel="Re E [S/kd]", ylabel="Im E [S/kd]", title="(b) far-field chain -C: open vs periodic", xlim=(-6, 3),
          ylim=(-2.2, 2.6))
    a.legend(fontsize=6, loc="upper left")

    a = ax[0, 2]
    ell = (lambda q: 1.0 * np.exp(1j * q) + 1.5 * np.exp(-1j * q))(qq)
    a.plot(ell.real, ell.imag, "-", c="0.5", label="periodic (W = -1 inside)")
    a.plot(hn["sa"].eigenvalues.real, hn["sa"].eigenvalues.imag, ".", c="C1", label="open N = 40")
    a.set(xlabel="Re E", ylabel="Im E", title="(c) Hatano-Nelson tL = 1, tR = 1.5", aspect="equal")
    a.legend(fontsize=7)

    a = ax[0, 3]
    _, vr = np.linalg.eig(hn["H"])
    j = np.arange(hn["H"].shape[0])
    for k in (0, 10, 20):
        a.semilogy(j, np.abs(vr[:, k]) / np.abs(vr[:, k]).max(), "-", lw=1, label=f"HN right mode {k}")
    a.semilogy(j, np.exp((j - j[-1]) / res["hatano_nelson"]["xi"]), "k--", lw=0.8, label="e^{(j - N)/xi}")
    lam, vf = np.linalg.eig(ff["H"][:40, :40])
    for k in np.argsort(lam.real)[[0, 20, 39]]:
        a.semilogy(j, np.abs(vf[:, k]) / np.abs(vf[:, k]).max(), ":", lw=1.2, label=f"far-field N = 40, E = {lam[k].real:.2f}")
    a.set(xlabel="site j", ylabel="|psi_j| / max", title="(d) mode profiles (right eigenvectors)", ylim=(1e-5, 2))
    a.legend(fontsize=6)

    a = ax[1, 0]
    am, s_amp = ff["amp"], ff["sizes_amp"]
    a.semilogy(s_amp, am.chi_1n, "o-", c="C0", label=f"far field |chi_1N| (omega = {ff['w_best']:.1f} g)")
    a.semilogy(s_amp, am.chi_n1, "s-", c="C3", label="far field |chi_N1|")
    a.semilogy(s_amp[:4], ff["amp_nn"].chi_1n, "^--", c="C0", lw=0.8, label="nearest-neighbour truncation |chi_1N| (omega = 0)")
    a.semilogy(hn["sizes"], hn["amp"].chi_n1, "o:", c="C2", label="HN |chi_N1| (tL = .3, tR = 1)")
    a.semilogy(hn["sizes"], hn["amp"].chi_1n, "s:", c="C4", label="HN |chi_1N|")
    a.set(xlabel="chain length N", ylabel="end-to-end gain [1/g]", title="(e) directional amplification, gamma = g",
          ylim=(1e-12, 1e12))
    a.legend(fontsize=7)

    a = ax[1, 1]
    a.semilogx(ff["sizes"], ff["edge_first"], "o-", label="far field: weight first 10 %")
    a.semilogx(ff["sizes"], ff["edge_last"], "s-", label="far field: weight last 10 %")
    a.semilogx(ff["sizes"], np.abs(ff["kappa"]) * np.array(ff["sizes"]), "^-", label="far field: N |median 1/xi|")
    a.axhline(0.1, c="k", lw=0.5, ls=":")
    a.set(xlabel="chain length N", title="(f) far-field chain: localization vs N")
    a.set_xticks(ff["sizes"], [str(v) for v in ff["sizes"]])
    a.minorticks_off()
    a.legend(fontsize=7)

    a = ax[1, 2]
    Ms = ls["Ms"]
    for key, err in ls["curves"].items():
        a.loglog(Ms, err, "o-", ms=3, label=f"{key}: slope {res['lattice_sums']['slopes'][key]:.2f}")
    a.set(xlabel="terms M", ylabel="|partial sum - Li_s(e^{i 2})|", title="(g) lattice sums: brute force vs closed form")
    a.legend(fontsize=7)

    a = ax[1, 3]
    ks = list(ff["trunc"])
    a.semilogx([k if k < 199 else 199 for k in ks], [ff["trunc"][k] for k in ks], "o-")
    a.set(xlabel="coupling range k (199 = all)", ylabel="fraction of open eigenvalues with W != 0",
          title="(h) spectral winding vs truncation (N = 200)", ylim=(-0.05, 1.05))
    fig.tight_layout()
    fig.savefig(OUT / "skin_effect.png", dpi=110)

    res["checks"] = [dict(name=n_, ok=o, detail=d) for n_, o, d in checks]
    res["runtime_s"] = time.time() - t_start
    (OUT / "skin_effect.json").write_text(json.dumps(res, indent=1, default=float))
    ok = all(o for _, o, _ in checks)
    print(f"{'PASS' if ok else 'FAIL'}  all {len(checks)} checks; {res['runtime_s']:.1f} s; "
          f"wrote {OUT / 'skin_effect.png'} and .json")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
