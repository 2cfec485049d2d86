"""The record of processing as a PDF (reportlab: pure Python with prebuilt
wheels, no system libraries, unlike HTML-to-PDF renderers)."""

from io import BytesIO

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from accounts.models import Practice
from compliance import register

_STYLES = getSampleStyleSheet()


def _text(value: object) -> str:
    # Paragraph takes a small markup language: escape what could be read as tags.
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(rows: list[list[object]], header: list[str] | None = None) -> Table:
    body = [[Paragraph(_text(cell), _STYLES["BodyText"]) for cell in row] for row in rows]
    if header:
        body.insert(0, [Paragraph(f"<b>{_text(cell)}</b>", _STYLES["BodyText"]) for cell in header])
    table = Table(body, repeatRows=1 if header else 0)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]))
    return table


def _section(title: str, content: Flowable) -> list[Flowable]:
    return [Paragraph(_text(title), _STYLES["Heading2"]), content, Spacer(1, 0.3 * cm)]


def register_pdf(practice: Practice) -> bytes:
    data = register.processing_register(practice)
    out = BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=_("Registre des activités de traitement"),
        invariant=True,
        pageCompression=0,
    )
    story: list[Flowable] = [
        Paragraph(
            _text(_("Registre des activités de traitement (art. 30 RGPD)")), _STYLES["Title"]
        ),
        Paragraph(
            _text(_("Responsable de traitement :") + f" {data['controller']}"), _STYLES["BodyText"]
        ),
        Paragraph(_text(_("Sous-traitant :") + f" {data['processor']}"), _STYLES["BodyText"]),
        Paragraph(
            _text(_("Généré à partir des réglages en vigueur le") + " ")
            + timezone.localtime().strftime("%d/%m/%Y %H:%M"),
            _STYLES["BodyText"],
        ),
        Spacer(1, 0.4 * cm),
    ]
    story += _section(
        _("Finalités et bases légales"),
        _table([list(item) for item in data["purposes"]], [_("Finalité"), _("Base légale")]),
    )
    story += _section(
        _("Catégories de données"),
        _table(
            [
                [c.title, ", ".join(c.fields), ", ".join(c.sealed) or "—"]
                for c in data["data_categories"]
            ],
            [_("Catégorie"), _("Données"), _("Chiffrées au repos")],
        ),
    )
    story += _section(
        _("Destinataires (par rôle)"),
        _table(
            [[r.label, r.scope, r.members, " ; ".join(r.permissions)] for r in data["recipients"]],
            [_("Rôle"), _("Rattachement"), _("Personnes habilitées"), _("Accès")],
        ),
    )
    story += _section(
        _("Durées de conservation"),
        _table(
            [
                [
                    item["label"],
                    f"{item['days']} j" + (f" ({item['pending']})" if item["pending"] else ""),
                    "{} – {} j".format(*item["bounds"]),
                ]
                for item in data["retention"]
            ],
            [_("Données"), _("Durée appliquée"), _("Bornes")],
        ),
    )
    story += _section(
        _("Mesures de sécurité"), _table([[measure] for measure in data["security_measures"]])
    )
    story += _section(
        _("Sous-traitants ultérieurs"),
        _table(
            [[s["name"], s["service"], s["country"] or "—"] for s in data["subprocessors"]],
            [_("Sous-traitant"), _("Service"), _("Pays")],
        ),
    )
    story.append(Paragraph(_text(data["transfers"]), _STYLES["BodyText"]))
    document.build(story)
    return out.getvalue()
