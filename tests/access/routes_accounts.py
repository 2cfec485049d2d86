from tests.access.routes import Route, practice_a

EVERY_USER = frozenset(
    {
        "telesecretary_a",
        "telesecretary_ab",
        "practitioner_a",
        "practitioner_b",
        "manager_a",
        "compliance_officer",
        "platform_admin",
        "no_role",
    }
)

ROUTES = [
    Route("accounts:home", allowed=EVERY_USER, practice_scoped=False),
    Route("accounts:agreement", allowed=EVERY_USER, practice_scoped=False),
    Route("accounts:sessions", allowed=EVERY_USER, practice_scoped=False),
    Route("accounts:password_change", allowed=EVERY_USER, practice_scoped=False),
    Route(
        "accounts:practice_home",
        kwargs=practice_a,
        allowed=frozenset({"telesecretary_a", "telesecretary_ab", "practitioner_a", "manager_a"}),
        audit_action="view",
    ),
]
