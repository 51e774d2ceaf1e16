"""Planning pages of the M2 agenda and the public ICS feeds."""

urlpatterns: list = []
public_urlpatterns: list = []
