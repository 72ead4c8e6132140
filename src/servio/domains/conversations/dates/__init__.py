"""The free-text date reader: what a person means by "next Tuesday after 3".

``understand(text, now=..., tz=...)`` reads an answer into concrete local windows or an
explicit ``NotUnderstood``; it never guesses. ``words`` lists the English it knows,
``items`` the tokens and pieces of meaning, ``reading`` turns tokens into those pieces,
and ``windows`` combines them into the windows a person means.
"""

from servio.domains.conversations.dates.windows import (
    DEFAULT_RULES,
    NotUnderstood,
    Outcome,
    Understanding,
    Understood,
    WhenRules,
    Window,
    understand,
)

__all__ = [
    "DEFAULT_RULES",
    "NotUnderstood",
    "Outcome",
    "Understanding",
    "Understood",
    "WhenRules",
    "Window",
    "understand",
]
