"""Conversations with contacts (web chat, WhatsApp); so far, reading when they want to come."""
