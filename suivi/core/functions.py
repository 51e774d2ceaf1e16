"""Database functions Django writes as a Python call on SQLite, in each database's own SQL."""

from django.db.models import DateField, Func


class MonthStart(Func):
    """The first day of a date's month. Django's ``TruncMonth`` calls a Python function once a
    row on SQLite; SQLite's ``date(x, 'start of month')`` and PostgreSQL's ``date_trunc`` do not."""

    output_field = DateField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="date(%(expressions)s, 'start of month')", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="date_trunc('month', %(expressions)s)::date", **extra)
