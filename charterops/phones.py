"""Phone numbers in E.164 (``+16195550100``), the only form SNS sends SMS to.

``phone_normalize`` parses what a person or a marketplace typed (US numbers may omit the
country code) and answers E.164 or raises a ``ValidationError`` saying how to write it.
``PhoneNumberField`` is a ``CharField`` whose form field (the admin's) refuses what cannot
receive a text with a clear error, and which normalises (never refuses) on every save, so
intake paths that cannot show a form error still store E.164 where the number can be read.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.db import models

DEFAULT_REGION = "US"  # the company sails out of San Diego
MESSAGE = (
    "Enter a phone number that can receive texts, with its country code for numbers "
    "outside the US, e.g. +1 619 555 0100."
)


def phone_normalize(value: str, *, region: str = DEFAULT_REGION) -> str:
    """``value`` in E.164, or ``""`` for an empty value; raises ``ValidationError`` otherwise."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(MESSAGE, code="invalid_phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(MESSAGE, code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_normalize_or_keep(value: str) -> str:
    """E.164 where ``value`` can be read as a phone number, else ``value`` unchanged."""
    try:
        return phone_normalize(value)
    except ValidationError:
        return value


class PhoneFormField(forms.CharField):
    """The form side: a clear error for what cannot receive a text, E.164 for the rest."""

    def to_python(self, value: Any) -> str:
        return phone_normalize(super().to_python(value))


class PhoneNumberField(models.CharField):
    """A CharField holding E.164. Deconstructs as a plain CharField: no schema change.

    Forms (the admin, the crew page) refuse what cannot receive a text; saves from intake
    paths, which must not lose a booking over a phone number, normalise what they can.
    """

    def formfield(self, **kwargs: Any) -> forms.Field:
        return super().formfield(**{"form_class": PhoneFormField, **kwargs})

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = phone_normalize_or_keep(getattr(model_instance, self.attname) or "")
        setattr(model_instance, self.attname, value)
        return value

    def deconstruct(self) -> tuple[str, str, list, dict]:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.CharField", args, kwargs
