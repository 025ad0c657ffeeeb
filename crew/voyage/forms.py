"""Forms of the departure and return record; the rules live in ``crew.voyage.records``."""

from __future__ import annotations

from django import forms

_NUMBER = {"inputmode": "decimal", "autocomplete": "off"}


class DepartureForm(forms.Form):
    """Fuel, engine hours, headcount, safety orientation, condition (photos come as files)."""

    # Text inputs on purpose (as the expense form): the phone shows a number pad and whatever
    # is typed reaches the server, which answers with a sentence.
    fuel_out = forms.CharField(label="Fuel level", widget=forms.TextInput(attrs=_NUMBER))
    engine_hours_out = forms.CharField(label="Engine hours", widget=forms.TextInput(attrs=_NUMBER))
    headcount = forms.CharField(
        label="Guests aboard", widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    orientation_given = forms.BooleanField(
        label="I gave the safety orientation (life jackets, exits, fire, man overboard)",
        required=False,
    )
    condition_out = forms.CharField(
        label="Condition notes", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ReturnForm(forms.Form):
    """Fuel, engine hours, condition, damage (photos come as files); time back is the server's."""

    fuel_in = forms.CharField(label="Fuel level", widget=forms.TextInput(attrs=_NUMBER))
    engine_hours_in = forms.CharField(label="Engine hours", widget=forms.TextInput(attrs=_NUMBER))
    condition_in = forms.CharField(
        label="Condition notes", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    damage = forms.TypedChoiceField(
        label="Any damage?",
        choices=[("no", "No damage"), ("yes", "Yes, damage to report")],
        coerce=lambda v: v == "yes",
        initial="no",
        widget=forms.RadioSelect,
    )
    damage_notes = forms.CharField(
        label="What is damaged, where, how",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def form_add_errors(form: forms.Form, exc) -> None:
    """Put a domain ValidationError's messages on the form's fields (or the form itself)."""
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)
