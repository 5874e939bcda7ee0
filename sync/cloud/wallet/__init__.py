"""Wallet passes of the cloud store: Apple Wallet ``.pkpass`` files (built, signed, kept up to
date through Apple's PassKit web service and APNs pushes) and Google Wallet loyalty objects
(save links signed with the service account, patched through the Wallet REST API).

Pure parts: ``pass_json.py`` (what a pass says), ``images.py`` (its pictures), ``pkpass.py``
(manifest, signature, zip), ``google_objects.py`` (class, object, save JWT). Adapters:
``credentials.py`` (files read and checked at start-up), ``passes_db.py`` (the tables),
``apns.py`` and ``google_api.py`` (the two push channels), ``pusher.py`` (the durable queue's
worker), ``routes.py`` (HTTP) and ``setup.py`` (wiring into the app).
"""
