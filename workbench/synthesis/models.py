from django.conf import settings
from django.db import models
from django.utils import timezone


class PrivacySpend(models.Model):
    """One entry of a dataset's privacy-budget ledger: the (ε, δ) a differentially private run spent.

    Written when the run is accepted, before it reads any data, and never removed: a run that fails
    later may already have touched the data, so its spending stands."""

    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="privacy_spends")
    job = models.ForeignKey("jobs.Job", null=True, on_delete=models.SET_NULL, related_name="+")
    version = models.ForeignKey("datasets.Version", null=True, on_delete=models.SET_NULL, related_name="+")
    epsilon = models.FloatField()
    delta = models.FloatField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"ε={self.epsilon:g}, δ={self.delta:g} on dataset {self.dataset_id}"

    def as_json(self) -> dict:
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "job": self.job_id,
            "version": self.version_id,
            "by": self.created_by.username if self.created_by else None,
            "at": self.created_at.isoformat(),
        }
