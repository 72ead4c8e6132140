"""Outbound webhooks to customers' systems: subscriptions, signed deliveries from the
outbox with a log of every attempt, and the lead export to an org's CRM."""
