"""/favicon.ico: browsers ask for it whatever the page's <link rel=icon> says
(tabs opened from bookmarks, PDFs, error pages), before anyone is logged in."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from accounts.permissions import agreement_exempt


@login_not_required
@agreement_exempt
@require_GET
@cache_control(public=True, max_age=86400)
def favicon_view(request: HttpRequest) -> HttpResponseRedirect:
    # A temporary redirect: the static URL carries a content hash in production,
    # which a permanent one would pin in browsers' caches after the next release.
    return HttpResponseRedirect(static("img/favicon.svg"))
