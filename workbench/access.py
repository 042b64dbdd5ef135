"""The one way to a workspace, dataset, version, job, conversation, turn or release request for a user.

Every lookup of a protected object goes through here. A user who is not a member of
the object's workspace gets Http404, never 403, so ids of other teams' objects leak nothing.
A member who lacks a right gets PermissionDenied with a reason.
"""

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import Http404

from workbench.accounts.models import Membership, Role, Workspace

if TYPE_CHECKING:  # the stages' models import this module's callers; only the annotations need them here
    from workbench.analysis.models import Conversation, Turn
    from workbench.datasets.models import Dataset, Version
    from workbench.jobs.models import Job
    from workbench.releases.models import ReleaseRequest

# What each role may do in a workspace. "read_raw" is decided per tier below.
RIGHTS = {
    Role.OWNER: {"read", "upload", "run", "manage", "read_raw"},
    Role.ANALYST: {"read", "upload", "run"},
    Role.VIEWER: {"read"},
}


def membership_for(user, workspace_id) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, workspace_id=workspace_id).select_related("workspace").first()


def can(membership: Membership | None, need: str) -> bool:
    if membership is None:
        return False
    if need == "read_raw" and membership.can_read_raw:
        return True
    return need in RIGHTS[Role(membership.role)]


def _require(membership: Membership | None, need: str) -> Membership:
    if membership is None:
        raise Http404("Not found")
    if not can(membership, need):
        raise PermissionDenied(f"Your role ({membership.role}) does not allow this ({need}).")
    return membership


def get_workspace_for_user(user, workspace_id, *, need: str = "read") -> tuple[Workspace, Membership]:
    membership = _require(membership_for(user, workspace_id), need)
    return membership.workspace, membership


def can_read_tier(membership: Membership, dataset, tier: str) -> bool:
    if tier == "RAW":
        return can(membership, "read_raw")
    if membership.role == Role.OWNER:
        return True
    return tier in dataset.readable_tiers(membership.role)


def get_dataset_for_user(user, dataset_id, *, need: str = "read") -> tuple["Dataset", Membership]:
    from workbench.datasets.models import Dataset

    dataset = Dataset.objects.select_related("workspace").filter(pk=dataset_id).first()
    if dataset is None:
        raise Http404("Not found")
    membership = _require(membership_for(user, dataset.workspace_id), need)
    return dataset, membership


def get_version_for_user(user, version_id, *, need: str = "read") -> tuple["Version", Membership]:
    """A version the user may read; reading a tier the policy withholds is refused with a reason."""
    from workbench.datasets.models import Version

    version = Version.objects.select_related("dataset__workspace").filter(pk=version_id).first()
    if version is None:
        raise Http404("Not found")
    membership = _require(membership_for(user, version.dataset.workspace_id), need)
    if not can_read_tier(membership, version.dataset, version.tier):
        raise PermissionDenied(f"Your role ({membership.role}) may not read the {version.tier} tier of this dataset.")
    return version, membership


def get_conversation_for_user(user, conversation_id, *, need: str = "read") -> tuple["Conversation", Membership]:
    """A conversation whose version the user may read (asking needs "run")."""
    from workbench.analysis.models import Conversation

    conversation = Conversation.objects.select_related("version__dataset__workspace").filter(pk=conversation_id).first()
    if conversation is None:
        raise Http404("Not found")
    version, membership = get_version_for_user(user, conversation.version_id, need=need)
    conversation.version = version
    return conversation, membership


def get_turn_for_user(user, turn_id, *, need: str = "read") -> tuple["Turn", Membership]:
    """A turn of a conversation the user may read (cancelling or retrying it needs "run")."""
    from workbench.analysis.models import Turn

    turn = Turn.objects.select_related("conversation__dataset", "job").filter(pk=turn_id).first()
    if turn is None:
        raise Http404("Not found")
    conversation, membership = get_conversation_for_user(user, turn.conversation_id, need=need)
    turn.conversation = conversation
    return turn, membership


# Jobs whose progress, timing or outcome is computed on RAW for owners only: a release's run tells nothing to anyone
# else before an owner releases its output (its result, message and duration would).
OWNERS_ONLY_JOBS = ("release",)


def get_job_for_user(user, job_id, *, need: str = "read") -> tuple["Job", Membership]:
    from workbench.jobs.models import Job

    job = Job.objects.select_related("workspace").filter(pk=job_id).first()
    if job is None or job.workspace_id is None:
        raise Http404("Not found")
    membership = membership_for(user, job.workspace_id)
    if job.kind in OWNERS_ONLY_JOBS and not can(membership, "manage"):
        raise Http404("Not found")
    membership = _require(membership, need)
    return job, membership


def get_release_for_user(user, release_id, *, need: str = "read") -> tuple["ReleaseRequest", Membership]:
    """A release request of a dataset whose workspace the user belongs to. Analysts and viewers see a request and,
    once released, its released cells; reviewing needs "manage"."""
    from workbench.releases.models import ReleaseRequest

    request = ReleaseRequest.objects.select_related("dataset__workspace", "requested_by").filter(pk=release_id).first()
    if request is None:
        raise Http404("Not found")
    membership = _require(membership_for(user, request.dataset.workspace_id), need)
    return request, membership


def workspaces_for(user):
    return Workspace.objects.filter(memberships__user=user).distinct()


def can_create_workspace(user) -> bool:
    return user.is_authenticated and user.has_perm("accounts.create_workspace")
