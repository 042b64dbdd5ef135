from django.conf import settings
from django.db import models
from django.utils import timezone


class ReleaseState(models.TextChoices):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RUNNING = "running"
    CHECKED = "checked"
    RELEASED = "released"
    REJECTED = "rejected"
    FAILED = "failed"


OPEN_STATES = (ReleaseState.SUBMITTED, ReleaseState.APPROVED, ReleaseState.RUNNING, ReleaseState.CHECKED)

# What the requester sees of a request's state: nothing that a run on the real data decides or times.
PUBLIC_STATES = {
    ReleaseState.SUBMITTED: "submitted",
    ReleaseState.APPROVED: "in review",
    ReleaseState.RUNNING: "in review",
    ReleaseState.CHECKED: "in review",
    ReleaseState.RELEASED: "released",
    ReleaseState.REJECTED: "not released",
    ReleaseState.FAILED: "not released",
}


class ReleaseMode(models.TextChoices):
    RULES = "rules"  # disclosure rules and the ledger's audit
    DP = "dp"  # differential privacy: noise, spent from the dataset's ε budget


class ReleaseRequest(models.Model):
    """An analyst's request for a declared query computed on the RAW table, its reviews, and the checked output. The
    output is sealed with the dataset's key; the analyst sees it only once an owner releases it."""

    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="release_requests")
    turn = models.ForeignKey("analysis.Turn", null=True, on_delete=models.SET_NULL, related_name="release_requests")
    raw_version = models.ForeignKey("datasets.Version", on_delete=models.CASCADE, related_name="release_requests")
    version = models.ForeignKey(
        "datasets.Version", null=True, on_delete=models.SET_NULL, related_name="+", help_text="The safe version it was pre-checked on."
    )
    query = models.JSONField(default=dict, help_text="The declared query (see releases/query.py).")
    description = models.CharField(max_length=1000, blank=True, help_text="The declared query in words, as the checker says it.")
    mode = models.CharField(max_length=8, choices=ReleaseMode.choices, default=ReleaseMode.RULES)
    epsilon = models.FloatField(null=True, blank=True, help_text="ε spent, when answered with differential privacy.")
    state = models.CharField(max_length=16, choices=ReleaseState.choices, default=ReleaseState.SUBMITTED, db_index=True)
    reason = models.TextField()
    reviewers_needed = models.PositiveSmallIntegerField(default=1)
    approvals = models.JSONField(default=list, help_text="Owners who approved the run: [{user, at}].")
    history = models.JSONField(default=list, help_text="Every state change: [{state, by, at, note}].")
    sealed_code = models.BinaryField(default=b"")
    sealed_output = models.BinaryField(default=b"", help_text="The checked output, sealed: every cell with its status and reason.")
    job = models.ForeignKey("jobs.Job", null=True, on_delete=models.SET_NULL, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"release request #{self.pk} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def public_state(self) -> str:
        return PUBLIC_STATES[ReleaseState(self.state)]

    def public_json(self) -> dict:
        """What anyone in the workspace may read: the request as asked, and its state in four words."""
        return {
            "id": self.pk,
            "dataset": self.dataset_id,
            "turn": self.turn_id,
            "state": self.public_state,
            "reason": self.reason,
            "query": self.query,
            "description": self.description,
            "mode": self.mode,
            "requested_by": self.requested_by.username if self.requested_by else None,
            "created_at": self.created_at.isoformat(),
        }

    def as_json(self, *, with_history: bool = True) -> dict:
        """The whole request, for its reviewers."""
        document = self.public_json() | {
            "state": self.state,
            "public_state": self.public_state,
            "epsilon": self.epsilon,
            "reviewers_needed": self.reviewers_needed,
            "approvals": self.approvals,
            "decided_by": self.decided_by.username if self.decided_by else None,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "job": self.job_id,
        }
        if with_history:
            document["history"] = self.history
        return document


class LedgerEntry(models.Model):
    """One row set released from a dataset, with its statistic and its values (sealed), or a suppressed magnitude cell
    that must stay underivable (`protected`): what the audit remembers of every release."""

    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="ledger")
    request = models.ForeignKey(ReleaseRequest, null=True, on_delete=models.SET_NULL, related_name="ledger")
    region = models.JSONField(help_text="The row set's definition: a list of conditions, all of which hold.")
    statistic = models.CharField(max_length=32)
    column = models.CharField(max_length=300, null=True, blank=True)
    protected = models.BooleanField(default=False)
    sealed_value = models.BinaryField(default=b"", help_text="The exact and the released value, sealed.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"ledger entry #{self.pk} of dataset {self.dataset_id} ({self.statistic})"
