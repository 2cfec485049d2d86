"""URLs outside the role table, each with the test that covers it instead."""

UNLISTED = {
    "accounts:login",  # tests/accounts/test_login.py
    "accounts:otp",  # tests/accounts/test_login.py
    "accounts:enrol",  # tests/accounts/test_enrolment.py
    "accounts:logout",  # tests/accounts/test_login.py
    "accounts:session_end",  # tests/accounts/test_sessions.py (ids are per user)
    "compliance:notice_open",  # tests/compliance/test_notices.py (ids are per user)
    "invitation_accept",  # tests/onboarding/test_invitations.py (public, token-bound)
    "favicon",  # tests/test_favicon.py (public, a redirect to the static icon)
    "set_language",  # tests/test_i18n.py
    "console:cti_webhook",  # tests/console/test_cti.py (public, signature-bound)
    "calendarfeed:feed",  # tests/calendarfeed/test_feed.py (public, secret-bound)
    "admin:login",  # tests/test_admin.py (sends to ours)
    "admin:logout",  # tests/test_admin.py (ours)
}
