from django.conf import settings
from django.db import models
from django.utils import timezone


class Tier(models.TextChoices):
    RAW = "RAW"
    ANONYMIZED = "ANONYMIZED"
    SYNTHETIC = "SYNTHETIC"


def default_policy() -> dict:
    return {
        "readable_tiers": {"analyst": ["ANONYMIZED", "SYNTHETIC"], "viewer": ["SYNTHETIC"]},
        "interpreter_tier": "SYNTHETIC",
        "k": 5,
    }


class Dataset(models.Model):
    """A table in a workspace, with its privacy policy and its wrapped data key."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    policy = models.JSONField(default=default_policy)
    wrapped_key = models.BinaryField(editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def readable_tiers(self, role: str) -> list[str]:
        return list(self.policy.get("readable_tiers", {}).get(role, []))


class Version(models.Model):
    """One stored table of a dataset: its tier, lineage, file, shape, schema and profile."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    tier = models.CharField(max_length=16, choices=Tier.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    made_by = models.JSONField(default=dict, help_text="What made it: upload, policy or generator config.")
    file = models.CharField(max_length=300, help_text="Path under the data dir.")
    encrypted = models.BooleanField(default=True)
    size_bytes = models.BigIntegerField(default=0)
    row_count = models.BigIntegerField(default=0)
    column_count = models.PositiveIntegerField(default=0)
    schema = models.JSONField(default=list)
    profile_file = models.CharField(max_length=300, blank=True, help_text="Encrypted profile JSON under the data dir.")
    profiled_at = models.DateTimeField(null=True, blank=True)
    scan_file = models.CharField(max_length=300, blank=True, help_text="Encrypted scan report JSON under the data dir.")
    scanned_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["dataset_id", "number"]
        constraints = [models.UniqueConstraint(fields=["dataset", "number"], name="version_number_unique")]

    def __str__(self) -> str:
        return f"{self.dataset} v{self.number} ({self.tier})"

    def as_json(self) -> dict:
        return {
            "id": self.pk,
            "dataset": self.dataset_id,
            "number": self.number,
            "tier": self.tier,
            "parent": self.parent_id,
            "made_by": self.made_by,
            "row_count": self.row_count,
            "column_count": self.column_count,
            "size_bytes": self.size_bytes,
            "schema": self.schema,
            "profiled_at": self.profiled_at.isoformat() if self.profiled_at else None,
            "scanned_at": self.scanned_at.isoformat() if self.scanned_at else None,
            "created_by": self.created_by.username if self.created_by else None,
            "created_at": self.created_at.isoformat(),
        }
