"""Reports keep no tables of their own unless they need snapshots or settings."""
