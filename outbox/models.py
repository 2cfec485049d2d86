"""The transactional outbox: a task to hand to Celery, written in the same
transaction as the change it follows up (see outbox/services.py)."""

from django.db import models
from django.utils import timezone


class OutboxTask(models.Model):
    """One task not yet handed to the broker. Deleted once published; a row that
    stays is work the broker has not accepted yet (attempts, last error type)."""

    task = models.CharField(max_length=200)
    # Identifiers only (checked by outbox.services.enqueue): never data.
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    available_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [models.Index(fields=["available_at", "id"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"
