"""Bookings: holds that become confirmed jobs, the deposit policy, staff operations."""
