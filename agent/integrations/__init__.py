"""Apps that plug the agent into a point-of-sale system's own platform (Poster: ``poster_app``)."""
