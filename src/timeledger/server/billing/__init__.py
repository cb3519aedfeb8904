"""Invoicing: invoices, line items, numbering, payments, PDF documents and emails."""
