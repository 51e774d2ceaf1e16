from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from suivi.parties.models import Contact, Party


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
    return render(
        request,
        "web/home.html",
        {
            "party_count": Party.objects.filter(archived=False).count(),
            "contact_count": Contact.objects.filter(archived=False).count(),
        },
    )


def crm_home(request):
    return render(request, "web/crm_home.html")
