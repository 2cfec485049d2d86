"""The patient's file as a PDF (reportlab, already used for the record of
processing): the same titled tables as the printable page
(patients.portability.readable), so the two cannot differ."""

from io import BytesIO

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from patients import portability

_STYLES = getSampleStyleSheet()


def _text(value: object) -> str:
    # Paragraph reads a small markup language: escape what could be taken as tags.
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\n", "<br/>")


def _cell(value: object) -> Paragraph:
    return Paragraph(_text(value), _STYLES["BodyText"])


def _table(table: dict) -> Flowable:
    if table["pairs"]:
        rows = [[_cell(label), _cell(value)] for label, value in table["pairs"]]
    elif table["rows"]:
        header = [Paragraph(f"<b>{_text(h)}</b>", _STYLES["BodyText"]) for h in table["headers"]]
        rows = [header] + [[_cell(value) for value in row] for row in table["rows"]]
    else:
        return Paragraph(_text(_("Aucun élément.")), _STYLES["BodyText"])
    flowable = Table(rows, repeatRows=0 if table["pairs"] else 1)
    flowable.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]))
    return flowable


def patient_pdf(document: dict) -> bytes:
    page = portability.readable(document)
    out = BytesIO()
    pdf = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        title=_("Dossier du patient"),
        invariant=True,
        pageCompression=0,
    )
    intro = _(
        "Tout ce que le cabinet %(name)s détient sur ce patient (RGPD art. 15 et 20), "
        "état au %(at)s."
    ) % {"name": document["practice"]["name"], "at": page["generated_at"]}
    story: list[Flowable] = [
        Paragraph(_text(_("Dossier du patient")), _STYLES["Title"]),
        Paragraph(_text(intro), _STYLES["BodyText"]),
        Spacer(1, 0.4 * cm),
    ]
    for table in page["tables"]:
        story += [Paragraph(_text(table["title"]), _STYLES["Heading2"]), _table(table)]
        story.append(Spacer(1, 0.3 * cm))
    pdf.build(story)
    return out.getvalue()
