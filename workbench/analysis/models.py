from django.conf import settings
from django.db import models
from django.utils import timezone


class Conversation(models.Model):
    """Questions to the LLM about one safe-tier version (the tier the dataset's policy names for the interpreter)."""

    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.CASCADE, related_name="conversations")
    version = models.ForeignKey("datasets.Version", on_delete=models.CASCADE, related_name="conversations")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"conversation #{self.pk} on version {self.version_id}"


class TurnStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    ANSWERED = "answered"
    FAILED = "failed"


class Turn(models.Model):
    """One question and what came of it. What it holds that comes from the table (the prompts with example values,
    the code's output, the answer) is sealed with the dataset's key, like every version and report."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    number = models.PositiveIntegerField()
    question = models.TextField()
    status = models.CharField(max_length=16, choices=TurnStatus.choices, default=TurnStatus.QUEUED)
    job = models.ForeignKey("jobs.Job", null=True, on_delete=models.SET_NULL, related_name="+")
    stream = models.BinaryField(default=b"", help_text="The model's reply so far, sealed (shown while it is written).")
    record = models.BinaryField(default=b"", help_text="The whole turn as JSON, sealed: prompts, replies, code, outcome, answer.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["conversation", "number"]
        constraints = [models.UniqueConstraint(fields=["conversation", "number"], name="one_turn_number_per_conversation")]

    def __str__(self) -> str:
        return f"turn {self.number} of conversation {self.conversation_id}"

    @property
    def is_finished(self) -> bool:
        return self.status in (TurnStatus.ANSWERED, TurnStatus.FAILED)
