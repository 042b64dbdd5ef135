"""What the release stage shows on the shared dataset page: the requests to run on the dataset's real data."""

from workbench.access import can
from workbench.releases.models import OPEN_STATES


def dataset_panel(dataset, membership) -> dict:
    requests = dataset.release_requests.select_related("requested_by")
    return {
        "release_requests": requests[:50],
        "open_releases": requests.filter(state__in=OPEN_STATES).count(),
        "can_review": can(membership, "manage"),
    }
