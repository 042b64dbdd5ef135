"""The generators by method name; each lives in its own module behind `base.Generator`."""

from workbench.synthesis.base import SynthesisError
from workbench.synthesis.copula import GaussianCopula
from workbench.synthesis.dp import DPMarginals

GENERATORS = {"copula": GaussianCopula, "dp": DPMarginals}
PLANNED = {"deep": "the deep generator"}


def generator_for(method: str, **options):
    if method == "dp":
        return DPMarginals(epsilon=options.get("epsilon") or 1.0, delta=options.get("delta") or 1e-6)
    if method in GENERATORS:
        return GENERATORS[method]()
    if method in PLANNED:
        raise SynthesisError(f"Method '{method}' ({PLANNED[method]}) is not available in this build; use one of: {', '.join(GENERATORS)}.")
    raise SynthesisError(f"Unknown method '{method}'; use one of: {', '.join(GENERATORS)}.")
