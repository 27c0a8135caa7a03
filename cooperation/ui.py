"""Form helpers shared by every app: DKFDS classes and the accessibility wiring."""

from django import forms


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
