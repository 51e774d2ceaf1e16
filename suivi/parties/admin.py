from django import forms
from django.contrib import admin

from suivi.lib.colours import validate_colour

from .models import Category


class CategoryForm(forms.ModelForm):
    colour = forms.CharField(max_length=7, validators=[validate_colour], initial="#6b7280")

    class Meta:
        model = Category
        fields = ["name", "colour"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ("name", "colour")
    search_fields = ("name",)
