"""The authorisation table of the M2 agenda's planning routes: every page and API route x anonymous,
another user, the owner, a manager and an administrator (machinery: ``authorisation.py``)."""

PLANNING_PAGES: list = []
PLANNING_API: list = []
