"""Deposits and payments: checkout with the provider, its webhooks, refunds and disputes,
the payment ledger, and the pages a checkout sends the customer back to."""
