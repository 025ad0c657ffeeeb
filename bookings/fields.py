"""Model fields with a behaviour of their own on save."""

from __future__ import annotations

from typing import Any

from django.db import models


class MaintainedTextField(models.TextField):
    """Text that one domain function maintains by UPDATE; saving the model keeps what is stored.

    A full ``save()`` of an instance loaded before that function ran would otherwise write
    its stale copy back (``bookings.services.booking_update`` saves the booking after its
    ``also`` changed the crew). On update this field writes ``column = column`` and Django
    reads the stored value back into the instance (``RETURNING``); on insert it writes the
    instance's value (normally the empty default).
    """

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        if add:
            return super().pre_save(model_instance, add)
        return models.F(self.attname)
