"""The printer channel inside the agent: print jobs, their routes and the printer worker."""
