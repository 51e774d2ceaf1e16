from suivi.core.aliases import rewrite

ALIASES = {"statut": "status", "sujet": "subject", "tiers": "party", "onderwerp": "subject"}
VALUES = {"status": {"a faire": "todo", "te doen": "todo", "fait": "done"}}


def test_french_and_dutch_names_and_values_become_the_fields_own():
    assert rewrite('statut = "à faire" and tiers.city = "Namur"', ALIASES, VALUES) == (
        'status = "todo" and party.city = "Namur"'
    )
    assert rewrite('onderwerp ~ "offerte" or status = "te doen"', ALIASES, VALUES) == (
        'subject ~ "offerte" or status = "todo"'
    )


def test_text_inside_quotes_is_never_renamed_and_other_fields_keep_their_values():
    assert rewrite('sujet ~ "statut fait"', ALIASES, VALUES) == 'subject ~ "statut fait"'
    assert rewrite('subject = "fait"', ALIASES, VALUES) == 'subject = "fait"'
    assert rewrite('status in ("fait", "à faire")', ALIASES, VALUES) == 'status in ("done", "todo")'
