from django.contrib import admin

from workbench.datasets.models import Dataset, Version


class VersionInline(admin.TabularInline):
    model = Version
    extra = 0
    fields = ["number", "tier", "row_count", "column_count", "created_by", "created_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "created_by", "created_at"]
    search_fields = ["name"]
    exclude = ["policy"]
    inlines = [VersionInline]
