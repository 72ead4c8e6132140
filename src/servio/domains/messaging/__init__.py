"""Messages exchanged with customers over chat channels (WhatsApp first): one store of
contacts and messages for every channel, plus each channel's own protocol."""
