"""The generators by method name; each lives in its own module behind `base.Generator`."""

from workbench.synthesis.base import SynthesisError
from workbench.synthesis.copula import GaussianCopula

GENERATORS = {"copula": GaussianCopula}
PLANNED = {"dp": "the differentially private generator", "deep": "the deep generator"}


def generator_for(method: str):
    if method in GENERATORS:
        return GENERATORS[method]()
    if method in PLANNED:
        raise SynthesisError(f"Method '{method}' ({PLANNED[method]}) is not available in this build; use one of: {', '.join(GENERATORS)}.")
    raise SynthesisError(f"Unknown method '{method}'; use one of: {', '.join(GENERATORS)}.")
