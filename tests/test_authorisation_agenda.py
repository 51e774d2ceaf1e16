"""The authorisation table of the M2 agenda's agenda routes: every page and API route x anonymous,
another user, the owner, a manager and an administrator (machinery: ``authorisation.py``)."""

AGENDA_PAGES: list = []
AGENDA_API: list = []
