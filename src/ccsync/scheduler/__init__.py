"""The scheduler: cron jobs, their runs, and the window warm-up."""
