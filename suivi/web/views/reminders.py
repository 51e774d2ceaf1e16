"""reminders pages of the M2 agenda."""

urlpatterns: list = []
