"""The words an action is found by in plain-word search: those of its subject.

The party, folder and contacts of an action are found through their own tables (the party's
keywords, the folder's and contact's names), so renaming them rewrites nothing here.
"""

from collections.abc import Iterable

from suivi.lib.text import words

from .models import Action, ActionKeyword


def refresh_keywords(actions: Iterable[Action]) -> None:
    """Rewrite the keywords of ``actions`` (call inside the service's transaction)."""
    actions = list(actions)
    ActionKeyword.objects.filter(action__in=[a.pk for a in actions]).delete()
    ActionKeyword.objects.bulk_create(
        [ActionKeyword(action_id=a.pk, word=w) for a in actions for w in words(a.subject)], batch_size=2000
    )
