"""The commercial side of Suivi: articles and VAT rates, journals and their numbering, layouts
(user templates rendered in a sandbox), documents with lines and totals, printing to PDF and
e-mailing.

Modules: ``models`` (the records), ``numbering`` (patterns and the gapless counter),
``totals`` (amounts to the cent), ``layouts`` (the template sandbox), ``pdf`` (WeasyPrint),
``mailing`` (the e-mail of a document), ``services`` (every write), ``queries`` (every
permission-checked read), ``demo`` (demo journals, rates and articles).
"""
