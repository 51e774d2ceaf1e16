"""The authorisation table of the M2 agenda's reminders routes: every page and API route x anonymous,
another user, the owner, a manager and an administrator (machinery: ``authorisation.py``)."""

REMINDERS_PAGES: list = []
REMINDERS_API: list = []
