"""Suivi: the CRM of a business that also issues quotes, orders and invoices."""
