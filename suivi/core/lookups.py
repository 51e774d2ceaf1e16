"""``prefix``: a starts-with lookup that uses a plain B-tree index on SQLite and PostgreSQL.

Django's ``startswith`` is ``LIKE … ESCAPE`` on SQLite, which never uses an index. Search keys in
Suivi are folded to lower case (``suivi.lib.text.fold``), so a binary range on SQLite and a
``LIKE 'x%'`` backed by a ``varchar_pattern_ops`` index on PostgreSQL find the same rows.
"""

from django.db import models
from django.db.models import Lookup


@models.CharField.register_lookup
class Prefix(Lookup):
    lookup_name = "prefix"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        value = self.rhs
        if connection.vendor == "postgresql":
            escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            return f"{lhs} LIKE %s", [*lhs_params, escaped + "%"]
        upper = value[:-1] + chr(ord(value[-1]) + 1) if value else "\U0010ffff"
        return f"({lhs} >= %s AND {lhs} < %s)", [*lhs_params, value, *lhs_params, upper]
