"""The load of ``make load``: office users mixing the hot pages with writes.

Each simulated user signs in with a session made for one demo user by ``tests/load/run.py``
(``LOAD_SESSIONS``: a JSON list of {"session": …, "csrf": …, "user": id}), then reads lists, pages
and the board, and now and then records an action, moves a card or edits a party — as a team of
50 works through its day. Run through ``make load``, not directly.
"""

import json
import os
import random
import re
from itertools import count

from locust import HttpUser, between, task

SESSIONS = json.loads(open(os.environ["LOAD_SESSIONS"], encoding="utf-8").read())
FIXTURE = json.loads(open(os.environ["LOAD_FIXTURE"], encoding="utf-8").read())
_next = count()
WORDS = ["dup", "jans", "garage", "brux", "gent", "boul", "peeters", "lam", "info1", "liege"]
ACTION_WORDS = ["relance", "namur", "dupont", "visite chantier", "devis", "peeters"]
SORTS = ["name", "-name", "code", "-code", "city", "-city", "created", "-created"]


class OfficeUser(HttpUser):
    # Seconds between a user's requests: people read (1–3 s); LOAD_THINK="0.1,0.5" saturates the
    # server to measure its capacity.
    wait_time = between(*(float(x) for x in os.environ.get("LOAD_THINK", "1,3").split(",")))

    def on_start(self):
        me = SESSIONS[next(_next) % len(SESSIONS)]
        self.me = me
        self.client.cookies.set("sessionid", me["session"])
        self.client.cookies.set("csrftoken", me["csrf"])
        self.headers = {"X-CSRFToken": me["csrf"], "Referer": self.host + "/"}

    # --- reading --------------------------------------------------------------------------------
    @task(5)
    def party_list(self):
        self.client.get(f"/parties/?sort={random.choice(SORTS)}", name="party list")

    @task(2)
    def party_list_deep(self):
        page = random.randrange(2, FIXTURE["party_pages"])
        self.client.get(f"/parties/?sort={random.choice(SORTS)}&page={page}", name="party list, deep page")

    @task(3)
    def party_search(self):
        self.client.get(f"/parties/?q={random.choice(WORDS)}&kind=customer", name="party search")

    @task(3)
    def typeahead(self):
        self.client.get(f"/parties/typeahead/?q={random.choice(WORDS)}", name="party type-ahead")

    @task(3)
    def home(self):
        self.client.get("/", name="home")

    @task(5)
    def action_list(self):
        self.client.get("/crm/actions/?sort=-when", name="action list")

    @task(3)
    def my_open_actions(self):
        self.client.get(f"/crm/actions/?followed_by={self.me['user']}&status=todo&sort=when", name="my open actions")

    @task(2)
    def action_search(self):
        self.client.get(f"/crm/actions/?sort=-when&query={random.choice(ACTION_WORDS)}", name="action search")

    @task(3)
    def party_page(self):
        self.client.get(f"/parties/{random.choice(FIXTURE['parties'])}/", name="party page")

    @task(2)
    def board(self):
        self.client.get("/crm/pipeline/", name="pipeline board")

    # --- writing --------------------------------------------------------------------------------
    @task(2)
    def record_action(self):
        party = random.choice(FIXTURE["parties"])
        data = {
            "subject": "Appel de suivi (charge)",
            "action_type": FIXTURE["action_type"],
            "priority": 2,
            "status": "todo",
            "followed_by": self.me["user"],
            "party": party,
            "csrfmiddlewaretoken": self.me["csrf"],
        }
        with self.client.post(
            "/crm/actions/new/", data=data, headers=self.headers, name="create action", catch_response=True
        ) as response:
            if response.status_code != 200 or "/crm/actions/new/" in response.url:
                response.failure(f"not recorded: {response.status_code}")

    @task(1)
    def move_card(self):
        mine = FIXTURE["opportunities"].get(str(self.me["user"]))
        if not mine:
            return
        folder = random.choice(mine)  # a follower moves their own opportunities
        stage = random.choice(FIXTURE["stages"])
        self.client.post(
            f"/crm/pipeline/{folder}/move/",
            data={"stage": stage, "csrfmiddlewaretoken": self.me["csrf"]},
            headers=self.headers,
            name="move card",
        )

    @task(1)
    def edit_party(self):
        party = random.choice(FIXTURE["parties"])
        form = self.client.get(f"/parties/{party}/update/", name="party form").text
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
        fields.update(
            {
                name: value
                for name, value in re.findall(
                    r'<select[^>]*name="([^"]+)"[^>]*>.*?<option value="([^"]*)" selected', form, re.S
                )
            }
        )
        checked: dict[str, list[str]] = {}
        for tag in re.findall(r'<input type="checkbox"[^>]*checked[^>]*>', form):
            name = re.search(r'name="([^"]+)"', tag).group(1)
            value = re.search(r'value="([^"]*)"', tag)
            checked.setdefault(name, []).append(value.group(1) if value else "on")
        fields = {k: v for k, v in fields.items() if k not in re.findall(r'type="checkbox" name="([^"]+)"', form)}
        fields.update(checked)
        fields["notes"] = f"Note {random.randrange(10**6)}"
        fields["csrfmiddlewaretoken"] = self.me["csrf"]
        with self.client.post(
            f"/parties/{party}/update/", data=fields, headers=self.headers, name="edit party", catch_response=True
        ) as response:
            if response.status_code == 409:
                response.success()  # another user saved it first: the form says so, nothing lost
            elif response.status_code != 200 or "/update/" in response.url:
                errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.text, re.S)
                response.failure(f"not saved: {response.status_code} {re.sub('<[^>]+>', ' ', ' '.join(errors))[:120]}")
