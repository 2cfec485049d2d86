"""Permission-aware queries of the compliance app."""

from compliance.models import Alert


def alerts_for_review(limit: int = 200) -> list[Alert]:
    """Open alerts first (newest first), then the latest acknowledged ones."""
    open_ = list(
        Alert.objects.filter(acknowledged_at__isnull=True)
        .select_related("practice", "subject")
        .order_by("-id")[:limit]
    )
    done = list(
        Alert.objects.filter(acknowledged_at__isnull=False)
        .select_related("practice", "subject", "acknowledged_by")
        .order_by("-acknowledged_at")[: max(limit - len(open_), 0)]
    )
    return open_ + done
