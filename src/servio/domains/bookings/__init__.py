"""Bookings: holds that become confirmed jobs, the deposit and cancellation policies,
reschedules, reminders and booking emails, staff operations and the admin metrics."""
