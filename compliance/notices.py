"""Notices to staff: every notification reaches its recipients in the
application (the inbox, its unread count in the header) and by e-mail when they
have an address; a recipient without one is flagged to the platform admins.

`notify()` is called in the transaction of the event it announces: the notices
exist if and only if the event commits, each recorded once under its key (a
rerun of the job that decided it adds nothing). Each e-mail is sent by the task
`notice_mail`, handed over through the outbox, under the notice's row lock with
its sent stamp: an SMTP failure rolls the stamp back and the task's retry (or
the periodic sweep) sends it; the notice itself never depends on the mail.

What a notice says is made when it is shown or mailed, from its kind and its
params (identifiers, counts, dates), by the one text function of its kind below.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Membership, User
from accounts.roles import Role
from audit.labels import detail_rows
from compliance.models import Alert, DataKind, Notice
from outbox import services as outbox

MAIL_TASK = "compliance.tasks.notice_mail"
SWEEP_BATCH = 200
# A pending mail younger than this is still in its own task's hands.
SWEEP_AFTER = timedelta(minutes=5)
# Older pending mails are given up on (the notice stays in the inbox).
SWEEP_WITHIN = timedelta(days=7)
Kind = Notice.Kind


@dataclass(frozen=True)
class Recipient:
    user: User
    # The role the notice is addressed to; blank: to the person.
    role: str = ""


# ---------------------------------------------------------------- recipients


def provider_staff(role: str) -> list[Recipient]:
    """Active holders of a provider role (compliance officers, platform admins)."""
    memberships = (
        Membership.objects.active()
        .filter(role=role, practice__isnull=True)
        .select_related("user")
        .order_by("user_id")
    )
    return [Recipient(m.user, role) for m in memberships]


def practice_staff(practice_ids: Iterable[int], roles: Iterable[str]) -> list[Recipient]:
    """Active holders of these roles in these practices, one per (user, role)."""
    memberships = (
        Membership.objects.active()
        .filter(practice_id__in=list(practice_ids), role__in=list(roles))
        .select_related("user")
        .order_by("user_id", "role")
    )
    return list(dict.fromkeys(Recipient(m.user, m.role) for m in memberships))


# ---------------------------------------------------------------- recording


def notify(
    *,
    kind: str,
    key: str,
    recipients: Iterable[Recipient],
    practice=None,
    params: dict | None = None,
) -> list[Notice]:
    """One notice per recipient under `<key>:user:<id>`, once. Returns the
    notices made now (not those recorded by an earlier run)."""
    made = []
    for recipient in recipients:
        notice = _record(kind, key, recipient, practice, params or {})
        if notice is not None:
            made.append(notice)
    return made


def _record(kind: str, key: str, recipient: Recipient, practice, params: dict) -> Notice | None:
    user = recipient.user
    has_address = bool(user.email.strip())
    try:
        with transaction.atomic():
            notice = Notice.objects.create(
                key=f"{key}:user:{user.pk}"[:200],
                recipient=user,
                role=recipient.role,
                practice_id=getattr(practice, "pk", practice),
                kind=kind,
                params=params,
                mail=Notice.Mail.PENDING if has_address else Notice.Mail.NO_ADDRESS,
            )
    except IntegrityError:
        return None  # recorded by an earlier or concurrent run
    if has_address:
        outbox.enqueue(MAIL_TASK, notice_id=notice.pk)
    elif kind != Kind.ADDRESS_MISSING:
        address_missing_flag(user=user)
    return notice


def address_missing_flag(*, user: User) -> None:
    """Tell the platform admins, once per person, that someone receives notices
    in the application only."""
    notify(
        kind=Kind.ADDRESS_MISSING,
        key=f"address_missing:{user.pk}",
        recipients=provider_staff(Role.PLATFORM_ADMIN),
        params={"user": user.pk, "username": user.username[:80]},
    )


# ---------------------------------------------------------------- reading


def visible_notices(user: User) -> QuerySet[Notice]:
    """The user's notices addressed to them personally or to a role they still
    hold (in the notice's practice, for a practice role): someone removed from
    a practice stops seeing its notices on the next request."""
    holds_role = Membership.objects.active().filter(
        Q(practice__isnull=True) | Q(practice_id=OuterRef("practice_id")),
        user_id=OuterRef("recipient_id"),
        role=OuterRef("role"),
    )
    return (
        Notice.objects.filter(recipient=user)
        .filter(Q(role="") | Exists(holds_role))
        .select_related("practice")
    )


def unread_count(user: User) -> int:
    return visible_notices(user).filter(read_at__isnull=True).count()


@transaction.atomic
def notices_mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's visible notices read (those named, or all). Returns how many."""
    unread = visible_notices(user).filter(read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return Notice.objects.filter(pk__in=list(unread.values_list("pk", flat=True))).update(
        read_at=timezone.now()
    )


# ---------------------------------------------------------------- texts


@dataclass(frozen=True)
class Text:
    title: str
    lines: list[str]
    url: str = ""


def text_of(notice: Notice) -> Text:
    """What the notice says, in the current language."""
    return TEXTS[notice.kind](notice, notice.params)


def _when(value: str | None) -> str:
    moment = parse_datetime(value) if value else None
    if moment is None:
        return "—"
    return formats.date_format(timezone.localtime(moment), "d/m/Y H:i")


def _day(value: str | None) -> str:
    day = parse_date(value) if value else None
    return formats.date_format(day, "d/m/Y") if day else "—"


def _practice_url(notice: Notice, name: str) -> str:
    return reverse(name, args=[notice.practice.slug]) if notice.practice else ""


def _alert(notice: Notice, params: dict) -> Text:
    kind = (
        Alert.Kind(params["alert_kind"]).label
        if params.get("alert_kind") in Alert.Kind.values
        else params.get("alert_kind", "")
    )
    severity = (
        Alert.Severity(params["severity"]).label
        if params.get("severity") in Alert.Severity.values
        else ""
    )
    lines = [
        _("Une alerte de conformité a été levée (alerte n° %(id)s).") % {"id": params.get("alert")},
        _("Gravité : %(severity)s") % {"severity": severity},
    ]
    if notice.practice:
        lines.append(_("Cabinet : %(name)s") % {"name": notice.practice.name})
    lines += [f"{label} : {value}" for label, value in detail_rows(params.get("detail") or {})]
    lines.append(_("Examinez-la et acquittez-la dans la boîte des alertes de conformité."))
    return Text(
        _("Alerte de conformité : %(kind)s") % {"kind": kind},
        lines,
        reverse("compliance:alert_list"),
    )


def _breach_declared(notice: Notice, params: dict) -> Text:
    drafts = params.get("patient_notices") or 0
    lines = [
        _(
            "Une violation de données personnelles concernant votre cabinet a été déclarée "
            "(incident n° %(id)s, découvert le %(detected)s)."
        )
        % {"id": params.get("incident"), "detected": _when(params.get("detected_at"))},
        _("Le délégué à la conformité du prestataire vous contactera."),
    ]
    url = ""
    if drafts and notice.role == Role.PRACTITIONER:
        lines.append(
            ngettext(
                "%(count)d information à un patient concerné est à relire puis à envoyer.",
                "%(count)d informations aux patients concernés sont à relire puis à envoyer.",
                drafts,
            )
            % {"count": drafts}
        )
        url = _practice_url(notice, "compliance:practice_incidents")
    return Text(
        _("Violation de données concernant votre cabinet (incident n° %(id)s)")
        % {"id": params.get("incident")},
        lines,
        url,
    )


def _breach_deadline(notice: Notice, params: dict) -> Text:
    return Text(
        _("Incident n° %(id)s : notifier l'autorité avant le %(deadline)s")
        % {"id": params.get("incident"), "deadline": _when(params.get("deadline"))},
        [
            _(
                "L'incident n° %(id)s n'a pas encore été notifié à la CNIL, %(hours)s heures "
                "après sa découverte. Échéance : %(deadline)s."
            )
            % {
                "id": params.get("incident"),
                "hours": params.get("hours"),
                "deadline": _when(params.get("deadline")),
            },
            _("La notification à l'autorité est pré-remplie depuis le registre."),
        ],
        reverse("compliance:incident_detail", args=[params.get("incident")]),
    )


def _reminders_stuck(notice: Notice, params: dict) -> Text:
    count = params.get("count") or 0
    return Text(
        ngettext(
            "%(count)d rappel de rendez-vous à vérifier",
            "%(count)d rappels de rendez-vous à vérifier",
            count,
        )
        % {"count": count},
        [
            _(
                "L'envoi de rappels de rendez-vous n'a pas été confirmé. Renvoyez-les ou "
                "écartez-les (par exemple après avoir appelé le patient)."
            )
        ],
        _practice_url(notice, "appointments:reminders_to_check"),
    )


def _training_due(notice: Notice, params: dict) -> Text:
    return Text(
        _("Formation à la confidentialité à renouveler"),
        [
            _(
                "Votre formation annuelle à la sécurité et à la confidentialité des données "
                "de santé est à renouveler. Sans formation enregistrée, l'accès aux données "
                "des patients sera suspendu après le %(day)s."
            )
            % {"day": _day(params.get("blocked_after"))},
            _("Contactez le délégué à la conformité pour vous inscrire à une session."),
        ],
    )


def _access_review_due(notice: Notice, params: dict) -> Text:
    last = params.get("last_started")
    return Text(
        _("Revue des accès à mener"),
        [
            _("La dernière revue des accès a commencé le %(day)s.") % {"day": _day(last)}
            if last
            else _("Aucune revue des accès n'a encore été menée."),
            _(
                "Revoyez au moins tous les %(days)s jours qui détient quel rôle dans quel "
                "cabinet, et révoquez les rôles qui ne servent plus."
            )
            % {"days": params.get("interval_days")},
        ],
        reverse("compliance:access_review"),
    )


def _role_label(value: str | None) -> str:
    return Role(value).label if value in Role.values else "—"


def _where(notice: Notice) -> str:
    return notice.practice.name if notice.practice else _("le prestataire")


def _role_reviewed(notice: Notice, params: dict) -> Text:
    confirmed = params.get("decision") == "confirm"
    values = {"role": _role_label(params.get("role")), "where": _where(notice)}
    if confirmed:
        title = _("Votre rôle de %(role)s (%(where)s) est confirmé") % values
        line = _("La revue des accès a confirmé votre rôle de %(role)s (%(where)s).") % values
    else:
        title = _("Votre rôle de %(role)s (%(where)s) est retiré") % values
        line = (
            _(
                "La revue des accès a retiré votre rôle de %(role)s (%(where)s). Si vous en avez "
                "encore besoin, adressez-vous au délégué à la conformité."
            )
            % values
        )
    return Text(title, [line])


def _role_granted(notice: Notice, params: dict) -> Text:
    values = {"role": _role_label(params.get("role")), "where": _where(notice)}
    lines = [_("Vous avez désormais le rôle de %(role)s (%(where)s).") % values]
    if params.get("starts_on"):
        lines.append(_("À partir du %(day)s.") % {"day": _day(params["starts_on"])})
    if params.get("ends_on"):
        lines.append(_("Jusqu'au %(day)s.") % {"day": _day(params["ends_on"])})
    if params.get("pending"):
        lines.append(_("Il prendra effet une fois confirmé par un responsable du cabinet."))
    url = reverse("accounts:practice_home", args=[notice.practice.slug]) if notice.practice else ""
    return Text(_("Nouveau rôle : %(role)s (%(where)s)") % values, lines, url)


def _purge_planned(notice: Notice, params: dict) -> Text:
    counts = params.get("counts") or {}
    lines = [
        _(
            "La purge du %(day)s supprimera, selon les durées de conservation du cabinet "
            "%(practice)s :"
        )
        % {"day": _day(params.get("due")), "practice": _where(notice)}
    ]
    periods = params.get("days") or {}
    for kind, count in sorted(counts.items()):
        label = DataKind(kind).label if kind in DataKind.values else kind
        line = f"– {label} : {count}"
        if periods.get(kind):
            line += " " + _("(nouvelle durée : %(days)s jours)") % {"days": periods[kind]}
        lines.append(line)
    lines.append(_("Jusque-là, une durée peut encore être allongée dans les limites légales."))
    name = (
        "compliance:retention"
        if notice.role == Role.COMPLIANCE_OFFICER
        else "compliance:practice_retention"
    )
    url = reverse(name, args=[notice.practice.slug]) if notice.practice else ""
    return Text(
        _("Purge de données programmée le %(day)s") % {"day": _day(params.get("due"))},
        lines,
        url,
    )


def _address_missing(notice: Notice, params: dict) -> Text:
    return Text(
        _("%(username)s n'a pas d'adresse e-mail") % {"username": params.get("username")},
        [
            _(
                "Le compte %(username)s reçoit des notifications mais n'a pas d'adresse "
                "e-mail : il ne les voit qu'en se connectant. Ajoutez-lui une adresse."
            )
            % {"username": params.get("username")}
        ],
        reverse("platform:dashboard"),
    )


TEXTS = {
    Kind.ALERT: _alert,
    Kind.BREACH_DECLARED: _breach_declared,
    Kind.BREACH_DEADLINE: _breach_deadline,
    Kind.REMINDERS_STUCK: _reminders_stuck,
    Kind.TRAINING_DUE: _training_due,
    Kind.ACCESS_REVIEW_DUE: _access_review_due,
    Kind.ROLE_REVIEWED: _role_reviewed,
    Kind.ROLE_GRANTED: _role_granted,
    Kind.PURGE_PLANNED: _purge_planned,
    Kind.ADDRESS_MISSING: _address_missing,
}


# ---------------------------------------------------------------- e-mail


def notice_mail(*, notice_id: int) -> bool:
    """E-mail one notice unless done: under its row lock, so two runs send once;
    a failed send raises and rolls the stamp back (the task retries). Returns
    whether a mail went out."""
    with transaction.atomic():
        notice = (
            Notice.objects.select_for_update(of=("self",))
            .select_related("recipient", "practice")
            .filter(pk=notice_id, mail=Notice.Mail.PENDING)
            .first()
        )
        if notice is None:
            return False
        address = notice.recipient.email.strip()
        if not address or not notice.recipient.is_active:
            notice.mail = Notice.Mail.NO_ADDRESS
            notice.save(update_fields=["mail"])
            return False
        text = text_of(notice)
        body = [
            *text.lines,
            "",
            _("Retrouvez cette notification dans Secretariat, rubrique Notifications."),
        ]
        send_mail(f"[Secretariat] {text.title}", "\n".join(body), None, [address])
        notice.mail = Notice.Mail.SENT
        notice.mailed_at = timezone.now()
        notice.save(update_fields=["mail", "mailed_at"])
    return True


def notices_mail_pending(*, now: datetime | None = None) -> int:
    """The sweep: mail what a failed task left pending (oldest first), stopping
    at the first failure (the mail server is then down for the rest too)."""
    now = now or timezone.now()
    ids = list(
        Notice.objects.filter(
            mail=Notice.Mail.PENDING,
            created_at__lte=now - SWEEP_AFTER,
            created_at__gte=now - SWEEP_WITHIN,
        )
        .order_by("id")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    sent = 0
    for notice_id in ids:
        sent += notice_mail(notice_id=notice_id)
    return sent


def iso_week(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"
