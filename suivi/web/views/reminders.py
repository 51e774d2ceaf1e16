"""The reminders of the M2 agenda in the browser: the bell of the top bar (unread reminders,
polled by HTMX every minute), the list of one's reminders with *mark as read*, and the deletion
of occurrences of recurring actions (an M2 route of the action page).

Everyone sees only their own reminders: the rows are read by ``user=request.user``, and
*mark as read* only touches the caller's own rows (another's id is ignored)."""

from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from suivi.activities import reminders
from suivi.lib.ids import parse_ids

from . import actions

LISTED = 50


def bell(request):
    """HTMX: the bell with the number of unread reminders (the top bar polls it)."""
    return render(request, "web/reminders/_bell.html", {"unread": reminders.unread_count(request.user), "polled": True})


def reminder_list(request):
    rows = list(reminders.delivered_to(request.user)[:LISTED])
    return render(
        request,
        "web/reminders/list.html",
        {"rows": rows, "unread": sum(1 for r in rows if r.read_at is None), "now": timezone.now()},
    )


def reminder_feed(request):
    """JSON for the Web Notifications script: the unread reminders newer than ``after`` (an id)."""
    after = parse_ids([request.GET.get("after", "0")]) or [0]
    rows = reminders.delivered_to(request.user).filter(read_at__isnull=True, pk__gt=after[0])[:20]
    return JsonResponse(
        {
            "reminders": [
                {
                    "id": r.pk,
                    "subject": r.action.subject,
                    "start": timezone.localtime(r.occurrence_start).strftime("%d/%m/%Y %H:%M"),
                    "url": f"/crm/actions/{r.action_id}/",
                    "late": r.late,
                }
                for r in rows
            ]
        }
    )


@require_POST
def reminder_read(request):
    """Mark the caller's reminders (``ids``, or all) as read."""
    ids = parse_ids(request.POST.getlist("ids")) if request.POST.getlist("ids") else None
    reminders.mark_read(acting_user=request.user, ids=ids)
    if request.htmx:
        return bell(request)
    return redirect("reminder_list")


urlpatterns = [
    path("reminders/", reminder_list, name="reminder_list"),
    path("reminders/bell/", bell, name="reminder_bell"),
    path("reminders/feed/", reminder_feed, name="reminder_feed"),
    path("reminders/read/", reminder_read, name="reminder_read"),
    # Deleting occurrences of a recurring action is M2's: behind the same gate as these pages.
    path("actions/<int:pk>/occurrence/delete/", actions.occurrence_delete, name="occurrence_delete"),
]
