"""Layer 4, closed forms of the literature: the two-tweezer far-field model, chains and lattice
sums (skin effect), sympathetic cooling, optical-binding potentials.

Each module is independent of the others in this layer.
"""
