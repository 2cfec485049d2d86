from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from appointments.models import Absence, Appointment, AppointmentType, Weekday
from appointments.services.booking import REASON_MAX_LENGTH
from secretariat import inputs


def slot_value(practitioner_id: int, start: datetime) -> str:
    """How a proposed slot is posted back: "<practitioner id>|<ISO start>"."""
    return f"{practitioner_id}|{start.isoformat()}"


class SlotForm(forms.Form):
    """A proposed slot, checked again by the service when posted (it may have
    been taken in between, or forged)."""

    slot = forms.CharField(max_length=80, error_messages={"required": _("Choisissez un créneau.")})

    def clean_slot(self) -> tuple[int, datetime]:
        practitioner, _sep, start = self.cleaned_data["slot"].partition("|")
        try:
            moment = datetime.fromisoformat(start)
            practitioner_id = int(practitioner)
        except ValueError:
            raise ValidationError(_("Créneau invalide.")) from None
        if moment.tzinfo is None:
            raise ValidationError(_("Créneau invalide."))
        # Its own date first: a year 1 or 9999 with an extreme offset would
        # overflow as soon as it is moved to UTC.
        inputs.SCHEDULE.validator(moment)
        return practitioner_id, moment


class BookingForm(SlotForm):
    reason = forms.CharField(
        label=_("Motif de la consultation"),
        max_length=REASON_MAX_LENGTH,
        required=False,
        validators=[inputs.free_text],
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    repeat_weeks = forms.TypedChoiceField(
        label=_("Répéter"),
        choices=[
            ("", _("Non")),
            (1, _("Chaque semaine")),
            (2, _("Toutes les deux semaines")),
            (4, _("Toutes les quatre semaines")),
        ],
        coerce=int,
        required=False,
        empty_value=None,
    )
    repeat_count = forms.IntegerField(
        label=_("Nombre de rendez-vous de la série"), min_value=2, max_value=52, required=False
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("repeat_weeks") and not cleaned.get("repeat_count"):
            self.add_error("repeat_count", _("Indiquez le nombre de rendez-vous de la série."))
        return cleaned


class ProposalFilterForm(forms.Form):
    """GET filters of the proposals (no health data: a practitioner, a date)."""

    praticien = forms.TypedChoiceField(
        label=_("Praticien"), coerce=int, required=False, empty_value=None
    )
    a_partir_du = forms.DateField(
        label=_("À partir du"),
        required=False,
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        validators=[inputs.SCHEDULE.validator],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, practitioners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["praticien"].choices = [("", _("Tous les praticiens"))] + [
            (user.pk, user.get_full_name() or user.username) for user in practitioners
        ]


class CancelForm(forms.Form):
    category = forms.ChoiceField(
        label=_("Motif d'annulation"),
        choices=Appointment.CancellationCategory.choices,
        widget=forms.RadioSelect,
    )
    whole_series = forms.BooleanField(
        label=_("Annuler aussi les rendez-vous suivants de la série"), required=False
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (Appointment.Status.ARRIVED, _("Arrivé")),
            (Appointment.Status.NO_SHOW, _("Absent")),
            (Appointment.Status.DONE, _("Terminé")),
        ]
    )


class CallMessageForm(forms.Form):
    """No practice, author or state can be posted: only what the call said."""

    practitioner = forms.TypedChoiceField(label=_("Pour le praticien"), coerce=int)
    urgent = forms.BooleanField(label=_("Urgent"), required=False)
    text = forms.CharField(
        label=_("Message"),
        max_length=2000,
        validators=[inputs.free_text],
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    patient = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, practitioners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].choices = [
            (user.pk, user.get_full_name() or user.username) for user in practitioners
        ]


class AppointmentTypeForm(forms.ModelForm):
    """The practice and the id are never posted: the view sets them."""

    class Meta:
        model = AppointmentType
        fields = [
            "name",
            "duration_minutes",
            "colour",
            "bookable_by_telesecretary",
            "telesecretary_instructions",
            "active",
            "is_default",
        ]
        widgets = {"telesecretary_instructions": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].validators.append(inputs.plain_text)
        self.fields["telesecretary_instructions"].validators.append(inputs.free_text)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("is_default") and not (
            cleaned.get("active") and cleaned.get("bookable_by_telesecretary")
        ):
            self.add_error(
                "is_default",
                _(
                    "Le type proposé par défaut doit être actif et réservable par le "
                    "télésecrétariat."
                ),
            )
        return cleaned


class WorkingHoursForm(forms.Form):
    weekday = forms.TypedChoiceField(label=_("Jour"), choices=Weekday.choices, coerce=int)
    start_time = forms.TimeField(label=_("De"), widget=forms.TimeInput(attrs={"type": "time"}))
    end_time = forms.TimeField(label=_("À"), widget=forms.TimeInput(attrs={"type": "time"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        if start and end and end <= start:
            raise ValidationError(_("La fin doit suivre le début."))
        return cleaned


class SlotMinutesForm(forms.Form):
    slot_minutes = forms.TypedChoiceField(
        label=_("Granularité des créneaux"),
        choices=[(m, _("%(m)s minutes") % {"m": m}) for m in (5, 10, 15, 20, 30, 45, 60)],
        coerce=int,
    )


class AbsenceForm(forms.Form):
    start_date = forms.DateField(
        label=_("Du"),
        validators=[inputs.SCHEDULE.validator],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    start_time = forms.TimeField(
        label=_("à"), initial="00:00", widget=forms.TimeInput(attrs={"type": "time"})
    )
    end_date = forms.DateField(
        label=_("Au"),
        validators=[inputs.SCHEDULE.validator],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end_time = forms.TimeField(
        label=_("à"), initial="23:59", widget=forms.TimeInput(attrs={"type": "time"})
    )
    reason = forms.ChoiceField(label=_("Motif"), choices=Absence.Reason.choices)
