"""The API's JSON parser: limits on nesting and on characters, refused with a 400 and a message.

DRF's own parser lets ``json.load`` recurse without bound (a body nested 100,000 deep is a 500)
and passes ``"\\ud800"`` escapes through to the database, which cannot store them.
"""

import codecs

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils.json import strict_constant

from suivi.lib import jsonsafe


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            return jsonsafe.loads(text, parse_constant=strict_constant if self.strict else None)
        except jsonsafe.JSONInputError as e:
            if e.reason == "depth":
                raise ParseError(
                    _("The JSON is nested too deeply (%(max)s levels at most).") % {"max": jsonsafe.MAX_JSON_DEPTH}
                ) from e
            raise ParseError(
                _("The JSON holds a character that cannot be stored as text (NUL or a lone surrogate such as \\ud800).")
            ) from e
        except ValueError as e:
            raise ParseError(_("The JSON cannot be read: %(reason)s") % {"reason": e}) from e
