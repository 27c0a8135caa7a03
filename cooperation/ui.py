"""Form helpers shared by every app: DKFDS classes and the accessibility wiring, a service's
refusal shown on its form, and a list's query string for its page links."""

from django import forms
from django.core.exceptions import ValidationError


class DateInput(forms.DateInput):
    """The browser's date picker, with the ISO value it expects; a form's input_formats may
    accept typed dates (24.12.2026) too."""

    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class DkfdsFormMixin:
    """Gives each widget its DKFDS class and ties hints and errors to the field with
    aria-describedby, so a screen reader reads them with the field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            css = {
                forms.Select: "form-select",
                forms.CheckboxInput: "form-checkbox",
                forms.RadioSelect: "form-radio",
                forms.CheckboxSelectMultiple: "form-checkbox",
            }.get(type(widget), "form-input")
            widget.attrs.setdefault("class", css)
            if isinstance(widget, forms.Textarea):
                widget.attrs.setdefault("rows", 4)

    def full_clean(self):
        super().full_clean()
        for name, field in self.fields.items():
            bound = self[name]
            described = []
            if field.help_text:
                described.append(f"{bound.auto_id}-hint")
            if self.is_bound and name in self.errors:
                described.append(f"{bound.auto_id}-error")
                field.widget.attrs["aria-invalid"] = "true"
            if described and not isinstance(
                field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple
            ):
                field.widget.attrs["aria-describedby"] = " ".join(described)


def apply_errors(form, error: ValidationError) -> None:
    """A service's ValidationError on the form: on its field when it names one of the form's
    fields, otherwise above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def querystring_without(request, *names: str) -> str:
    """The request's query string less the named parameters (a list's page numbers), for the
    links that page through it with the same filters."""
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()
