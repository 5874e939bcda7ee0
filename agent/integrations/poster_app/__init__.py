"""The Poster POS platform app (JavaScript): ``src/`` is its source, ``dist/poster-app.js`` the
built bundle that is uploaded to Poster (``scripts/build-poster-app`` makes it from ``src/``)."""

from pathlib import Path

BUNDLE = Path(__file__).parent / "dist" / "poster-app.js"
"""The built app, shipped in the package (``pyproject.toml`` package-data)."""
