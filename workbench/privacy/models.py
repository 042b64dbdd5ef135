from django.conf import settings
from django.db import models
from django.utils import timezone


class Policy(models.Model):
    """A named anonymisation policy of a workspace, reusable on its datasets (matched by column name)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="policies")
    name = models.CharField(max_length=120)
    rules = models.JSONField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="policy_name_unique_in_workspace")]

    def __str__(self) -> str:
        return self.name

    def as_json(self) -> dict:
        return {"id": self.pk, "name": self.name, "rules": self.rules, "updated_at": self.updated_at.isoformat()}
