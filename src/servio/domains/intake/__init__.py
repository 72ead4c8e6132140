"""Leads: contact details, the server's estimate, referrals and the lead lifecycle."""
