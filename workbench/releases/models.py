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


class ReleaseRequest(models.Model):
    """An analyst's request to run a turn's code on the RAW table, its reviews, and the checked output. The code and
    outputs are sealed with the dataset's key; the analyst sees the output only once an owner releases it."""

    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="release_requests")
    turn = models.ForeignKey("analysis.Turn", null=True, on_delete=models.SET_NULL, related_name="release_requests")
    raw_version = models.ForeignKey("datasets.Version", on_delete=models.CASCADE, related_name="release_requests")
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

    def as_json(self, *, with_history: bool = True) -> dict:
        document = {
            "id": self.pk,
            "dataset": self.dataset_id,
            "turn": self.turn_id,
            "state": self.state,
            "reason": self.reason,
            "reviewers_needed": self.reviewers_needed,
            "approvals": self.approvals,
            "requested_by": self.requested_by.username if self.requested_by else None,
            "decided_by": self.decided_by.username if self.decided_by else None,
            "created_at": self.created_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "job": self.job_id,
        }
        if with_history:
            document["history"] = self.history
        return document
