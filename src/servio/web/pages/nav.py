"""The staff console's navigation, in the order it shows."""

CONSOLE_NAV: tuple[tuple[str, str], ...] = (
    ("/app", "Dashboard"),
    ("/app/board", "Board"),
    ("/app/bookings", "Bookings"),
    ("/app/leads", "Leads"),
    ("/app/settings", "Settings"),
    ("/app/team", "Team"),
    ("/app/dead-letter", "Dead letters"),
    ("/app/jobs", "Jobs"),
)
