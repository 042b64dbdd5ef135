"""Differentially private answers for the airlock: Laplace noise from OpenDP (the one module that imports it).

Counts get the discrete Laplace (geometric) mechanism on integers, sums the Laplace mechanism on floats as OpenDP
samples it (exactly, from a secure source; no floating-point side channel of the naive sampler). The privacy loss of
a request is accounted by the caller from the scales used here (ε = sensitivity / scale per measure, added up)."""

import opendp.prelude as dp

dp.enable_features("contrib")  # OpenDP's Laplace measurements are in its "contrib" set (proven, not yet vetted)


def noisy_counts(counts: list[int], *, scale: float) -> list[int]:
    if not counts:
        return []
    measurement = dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=float(scale))
    return [int(v) for v in measurement([int(c) for c in counts])]


def noisy_sums(sums: list[float], *, scale: float) -> list[float]:
    if not sums:
        return []
    domain = dp.vector_domain(dp.atom_domain(T=float, nan=False))
    measurement = dp.m.make_laplace(domain, dp.l1_distance(T=float), scale=float(scale))
    return [float(v) for v in measurement([float(s) for s in sums])]
