"""Resources (teams, artists), their hours, blackouts and reservations; free slots."""
