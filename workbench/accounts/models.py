import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def _new_secret() -> bytes:
    return secrets.token_bytes(32)


class Role(models.TextChoices):
    OWNER = "owner", "Data owner"
    ANALYST = "analyst", "Analyst"
    VIEWER = "viewer", "Viewer"


class Workspace(models.Model):
    """A team's space: its members, datasets and the secret for keyed hashes and pseudonyms."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    secret = models.BinaryField(default=_new_secret, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        permissions = [("create_workspace", "Can create workspaces (becomes their data owner)")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    can_read_raw = models.BooleanField(default=False, help_text="Granted by an owner; owners always can.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")]
        ordering = ["workspace_id", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} as {self.role}"


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the JSON API; only its hash is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"API token of {self.user} ({self.created_at:%Y-%m-%d})"

    @classmethod
    def issue(cls, user) -> tuple["ApiToken", str]:
        raw = "wb_" + secrets.token_urlsafe(32)
        return cls.objects.create(user=user, key_hash=_hash_token(raw)), raw

    @classmethod
    def find_user(cls, raw: str):
        token = cls.objects.select_related("user").filter(key_hash=_hash_token(raw)).first()
        if token is None or not token.user.is_active:
            return None
        cls.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user
