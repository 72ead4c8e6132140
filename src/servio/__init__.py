"""Servio: appointment-based service businesses, end to end."""
