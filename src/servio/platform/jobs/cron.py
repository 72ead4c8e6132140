"""Cron expressions (UTC) that jobs share."""

DAILY_AT_0300 = "0 3 * * *"
DAILY_AT_0330 = "30 3 * * *"
HOURLY = "0 * * * *"
EVERY_MINUTE = "* * * * *"
EVERY_FIVE_MINUTES = "*/5 * * * *"
