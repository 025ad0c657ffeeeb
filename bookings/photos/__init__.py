"""Photos of a charter, crew's and guests' alike: the models, upload grants, confirmation, views.

``models.py`` (``Photo``, ``PhotoGrant``; tables ``crew_photo``/``crew_photogrant`` kept from
when crew owned them), ``uploads.py`` (grant, confirm, sweep, view URL, direct upload),
``views.py`` and ``urls.py`` (the embedded default's signed upload and download endpoints),
``admin.py``. Crew pages (``crew/views.py``) and the guest photo drop
(``guestpages/photos.py``) add their own rules on top.
"""
