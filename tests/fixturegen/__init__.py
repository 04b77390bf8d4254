"""Generated fixture mail: applications and reports with the result each should give."""
