"""Database functions Django writes as a Python call on SQLite, in each database's own SQL."""

from django.db.models import DateField, Exists, Func


class MonthStart(Func):
    """The first day of a date's month. Django's ``TruncMonth`` calls a Python function once a
    row on SQLite; SQLite's ``date(x, 'start of month')`` and PostgreSQL's ``date_trunc`` do not."""

    output_field = DateField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="date(%(expressions)s, 'start of month')", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="date_trunc('month', %(expressions)s)::date", **extra)


class ExistsEach(Exists):
    """``EXISTS`` looked up row by row. Under an ``OR``, PostgreSQL turns an ``EXISTS`` into a hash
    of every matching row before reading the first one (for a search word found in 100,000
    actions, most of the page's time); a subquery with an ``OFFSET`` it leaves as it is."""

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = self.as_sql(compiler, connection, **extra)
        assert sql.endswith(")")
        return f"{sql[:-1]} OFFSET 0)", params
