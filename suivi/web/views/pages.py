from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from suivi.activities.queries import my_open_actions_due, my_opportunities_closing, parties_touched_by
from suivi.core.company import company_settings
from suivi.core.gates import opportunities_refusal, refusal


@require_GET
def healthz(request):
    """200 when the database answers, 503 otherwise (for load balancers and monitors)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as e:  # any failure to reach the database means unhealthy
        return JsonResponse({"status": "unavailable", "database": str(e)[:200]}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@login_required
def home(request):
    """The page that starts the day: my open actions of today and before (overdue first), my
    opportunities closing this month, the parties I touched last."""
    today = timezone.localdate()
    settings_obj = company_settings(request)
    crm = refusal(settings_obj) is None
    return render(
        request,
        "web/home.html",
        {
            "today": today,
            "actions": my_open_actions_due(request.user, today) if crm else [],
            "opportunities": my_opportunities_closing(request.user, today)
            if opportunities_refusal(settings_obj) is None
            else None,
            "parties": parties_touched_by(request.user),
        },
    )


def crm_home(request):
    return render(request, "web/crm_home.html")
