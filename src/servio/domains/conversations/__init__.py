"""Conversations with contacts over web chat and WhatsApp: a stage machine that asks a
vertical's questions, reads free-text dates, offers free starts, asks for the deposit
and hands over to staff; panic mode, reminders, lapses and transcript retention."""
