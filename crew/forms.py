"""Forms of the crew pages; validation rules live in the domain modules they call."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from .expenses import expense_clean
from .models import CrewAssignment, CrewMember, Expense, Role

_NUMBER = {"inputmode": "decimal", "autocomplete": "off"}


class ExpenseForm(forms.Form):
    """Mileage, supplies, tips or other; tips may carry per-member shares."""

    kind = forms.ChoiceField(choices=Expense.Kind.choices, widget=forms.RadioSelect)
    # Text inputs on purpose: the phone shows a number pad (inputmode) and whatever is
    # typed reaches the server, which answers with a sentence instead of a silent refusal.
    miles = forms.CharField(required=False, widget=forms.TextInput(attrs=_NUMBER))
    amount = forms.CharField(required=False, widget=forms.TextInput(attrs=_NUMBER))
    note = forms.CharField(required=False, max_length=300)
    receipt_key = forms.CharField(required=False, widget=forms.HiddenInput)
    receipt = forms.FileField(
        required=False, widget=forms.ClearableFileInput(attrs={"accept": "image/*"})
    )
    split_mode = forms.ChoiceField(
        choices=[("equal", "Equally among the crew on board"), ("custom", "Custom shares")],
        initial="equal",
        required=False,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, crew: list[CrewAssignment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.crew = crew
        self.values: dict[str, Any] = {}
        for a in crew:
            self.fields[f"share_{a.member_id}"] = forms.CharField(
                required=False,
                label=a.member.name,
                widget=forms.TextInput(attrs={**_NUMBER, "data-share": a.member_id}),
            )

    @property
    def share_fields(self) -> list:
        return [self[f"share_{a.member_id}"] for a in self.crew]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "kind" not in data:
            return data
        split = None
        if data["kind"] == Expense.Kind.TIPS and data.get("split_mode") == "custom":
            split = {str(a.member_id): data.get(f"share_{a.member_id}") or "0" for a in self.crew}
        try:
            self.values = expense_clean(
                kind=data["kind"],
                amount=data.get("amount"),
                miles=data.get("miles"),
                split=split,
                on_board=[a.member_id for a in self.crew],
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                name = {"split": "split_mode"}.get(name, name)
                self.add_error(name if name in self.fields else None, messages)
        return data


class CrewMemberAdminForm(forms.ModelForm):
    """The crew member in the admin: roles as checkboxes; the login account is made on add."""

    roles = forms.MultipleChoiceField(
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Roles this member can take.",
    )

    class Meta:
        model = CrewMember
        fields = ["name", "email", "phone", "roles", "notify_by", "active"]
