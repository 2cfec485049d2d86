"""A form's errors are shown once: `{{ form.as_div }}` (like as_p, as_table)
already renders the non-field errors, so a template that also prints
`{{ form.non_field_errors }}` shows them twice (issue 13 item 8)."""

import re
from pathlib import Path

from django.conf import settings

WHOLE_FORM = re.compile(r"\{\{\s*(\w+)\.as_(?:div|p|table|ul)\s*\}\}")


def test_no_template_prints_non_field_errors_beside_the_whole_form():
    doubled = []
    for template in sorted(Path(settings.BASE_DIR, "templates").rglob("*.html")):
        text = template.read_text()
        for form in set(WHOLE_FORM.findall(text)):
            if re.search(r"\{\{\s*" + form + r"\.non_field_errors\s*\}\}", text):
                doubled.append(f"{template.name}: {form}")
    assert not doubled, doubled
