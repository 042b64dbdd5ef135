from django.contrib import admin

from workbench.jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "message", "worker", "created_at", "finished_at"]
    list_filter = ["status", "kind", "queue"]
    readonly_fields = [f.name for f in Job._meta.fields]
