"""The generators by method name; each lives in its own module behind `base.Generator`. `auto` is no generator of
its own: the run fits the candidates below on part of the rows and keeps the one that scores best on the rest."""

from workbench.synthesis.base import SynthesisError
from workbench.synthesis.copula import GaussianCopula
from workbench.synthesis.deep import TabularARGN
from workbench.synthesis.dp import DPMarginals

GENERATORS = {"copula": GaussianCopula, "marginals": DPMarginals, "dp": DPMarginals, "deep": TabularARGN}
METHODS = ["auto", *GENERATORS]
LABELS = {
    "auto": "Best of the candidates, chosen on held-out rows (default)",
    "copula": "Gaussian copula (fast)",
    "marginals": "Marginal model without noise (no privacy guarantee)",
    "dp": "Differentially private marginals",
    "deep": "Deep: TabularARGN (GPU)",
}
# The DP generator's model with a budget so large its noise is nil: the marginals and tree, measured exactly.
NO_NOISE_EPSILON = 1e6


def generator_for(method: str, **options):
    if method == "dp":
        return DPMarginals(epsilon=options.get("epsilon") or 1.0, delta=options.get("delta") or 1e-6)
    if method == "marginals":
        marginals = DPMarginals(epsilon=NO_NOISE_EPSILON, delta=1e-6)
        marginals.method = "marginals"
        return marginals
    if method == "deep":
        return TabularARGN(max_epochs=options.get("max_epochs"), epsilon=options.get("epsilon"), delta=options.get("delta"))
    if method in GENERATORS:
        return GENERATORS[method]()
    raise SynthesisError(f"Unknown method '{method}'; use one of: {', '.join(METHODS)}.")
