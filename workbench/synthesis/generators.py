"""The generators by method name; each lives in its own module behind `base.Generator`."""

from workbench.synthesis.base import SynthesisError
from workbench.synthesis.copula import GaussianCopula
from workbench.synthesis.deep import TabularARGN
from workbench.synthesis.dp import DPMarginals

GENERATORS = {"copula": GaussianCopula, "dp": DPMarginals, "deep": TabularARGN}
LABELS = {"copula": "Gaussian copula (fast default)", "dp": "Differentially private marginals", "deep": "Deep: TabularARGN (GPU)"}


def generator_for(method: str, **options):
    if method == "dp":
        return DPMarginals(epsilon=options.get("epsilon") or 1.0, delta=options.get("delta") or 1e-6)
    if method == "deep":
        return TabularARGN(max_epochs=options.get("max_epochs"), epsilon=options.get("epsilon"), delta=options.get("delta"))
    if method in GENERATORS:
        return GENERATORS[method]()
    raise SynthesisError(f"Unknown method '{method}'; use one of: {', '.join(GENERATORS)}.")
