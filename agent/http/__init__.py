"""The agent's HTTP side: the app, its routes and models, errors as answers, the status page."""
