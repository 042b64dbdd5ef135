from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from workbench import pages
from workbench.accounts import api as accounts_api
from workbench.accounts import views as accounts_views
from workbench.analysis import api as analysis_api
from workbench.analysis import views as analysis_views
from workbench.audit import api as audit_api
from workbench.audit import views as audit_views
from workbench.console import openapi
from workbench.console import views as console_views
from workbench.datasets import api as datasets_api
from workbench.datasets import views as datasets_views
from workbench.http import error
from workbench.jobs import api as jobs_api
from workbench.jobs import views as jobs_views
from workbench.privacy import api as privacy_api
from workbench.privacy import views as privacy_views
from workbench.releases import api as releases_api
from workbench.releases import views as releases_views
from workbench.synthesis import api as synthesis_api
from workbench.synthesis import views as synthesis_views

api_v1 = [
    path("api/v1/auth/token", accounts_api.token),
    path("api/v1/workspaces", accounts_api.workspaces),
    path("api/v1/workspaces/<int:workspace_id>", accounts_api.workspace),
    path("api/v1/workspaces/<int:workspace_id>/members", accounts_api.members),
    path("api/v1/workspaces/<int:workspace_id>/datasets", datasets_api.datasets),
    path("api/v1/datasets/<int:dataset_id>", datasets_api.dataset),
    path("api/v1/datasets/<int:dataset_id>/policy", datasets_api.policy),
    path("api/v1/datasets/<int:dataset_id>/reveal", datasets_api.reveal),
    path("api/v1/workspaces/<int:workspace_id>/audit", audit_api.events),
    path("api/v1/workspaces/<int:workspace_id>/releases", releases_api.workspace_releases),
    path("api/v1/versions/<int:version_id>", datasets_api.version),
    path("api/v1/versions/<int:version_id>/preview", datasets_api.preview),
    path("api/v1/versions/<int:version_id>/download", datasets_api.download),
    path("api/v1/versions/<int:version_id>/scan", privacy_api.scan),
    path("api/v1/versions/<int:version_id>/anonymize", privacy_api.anonymize),
    path("api/v1/workspaces/<int:workspace_id>/policies", privacy_api.policies),
    path("api/v1/versions/<int:version_id>/synthesize", synthesis_api.synthesize),
    path("api/v1/versions/<int:version_id>/evaluation", synthesis_api.evaluation),
    path("api/v1/versions/<int:version_id>/synthesis-plan", synthesis_api.plan),
    path("api/v1/datasets/<int:dataset_id>/privacy-budget", synthesis_api.budget),
    path("api/v1/versions/<int:version_id>/conversations", analysis_api.conversations),
    path("api/v1/conversations/<int:conversation_id>", analysis_api.conversation),
    path("api/v1/conversations/<int:conversation_id>/turns", analysis_api.turns),
    path("api/v1/turns/<int:turn_id>/cancel", analysis_api.cancel_turn),
    path("api/v1/turns/<int:turn_id>/retry", analysis_api.retry_turn),
    path("api/v1/turns/<int:turn_id>/release", releases_api.request_run),
    path("api/v1/versions/<int:version_id>/releases", releases_api.version_release),
    path("api/v1/versions/<int:version_id>/precheck", releases_api.precheck),
    path("api/v1/releases/<int:release_id>", releases_api.release),
    path("api/v1/releases/<int:release_id>/approve", releases_api.decide, {"decision": "approve"}),
    path("api/v1/releases/<int:release_id>/reject", releases_api.decide, {"decision": "reject"}),
    path("api/v1/releases/<int:release_id>/release", releases_api.decide, {"decision": "release"}),
    path("api/v1/jobs/<int:job_id>", jobs_api.job),
    path("api/v1/jobs/<int:job_id>/cancel", jobs_api.cancel),
    path("api/v1/jobs/<int:job_id>/retry", jobs_api.retry),
    path("api/v1/openapi.json", openapi.schema),
]

pages = [
    path("", console_views.home, name="home"),
    path("healthz", console_views.health, name="health"),
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("workspaces/new", console_views.create_workspace, name="create_workspace"),
    path("w/<int:workspace_id>/", accounts_views.workspace, name="workspace"),
    path("w/<int:workspace_id>/members", accounts_views.members, name="members"),
    path("w/<int:workspace_id>/jobs", accounts_views.jobs, name="workspace_jobs"),
    path("w/<int:workspace_id>/upload", datasets_views.upload, name="upload"),
    path("w/<int:workspace_id>/console", console_views.owner_console, name="owner_console"),
    path("w/<int:workspace_id>/audit", audit_views.audit_log, name="audit_log"),
    path("d/<int:dataset_id>/policy", console_views.dataset_policy, name="dataset_policy"),
    path("d/<int:dataset_id>/report", console_views.compliance_report, name="compliance_report"),
    path("d/<int:dataset_id>/", pages.dataset, name="dataset"),
    path("d/<int:dataset_id>/purge", datasets_views.purge, name="purge"),
    path("v/<int:version_id>/", pages.version, name="version"),
    path("v/<int:version_id>/preview", datasets_views.preview, name="preview"),
    path("v/<int:version_id>/download", datasets_views.download, name="download"),
    path("v/<int:version_id>/profile", datasets_views.reprofile, name="reprofile"),
    path("v/<int:version_id>/scan", privacy_views.scan, name="scan"),
    path("v/<int:version_id>/anonymize", privacy_views.anonymize, name="anonymize"),
    path("v/<int:version_id>/policy", privacy_views.policy_editor, name="policy_editor"),
    path("v/<int:version_id>/synthesize", synthesis_views.synthesize, name="synthesize"),
    path("v/<int:version_id>/conversations", analysis_views.start, name="start_conversation"),
    path("c/<int:conversation_id>/", analysis_views.conversation, name="conversation"),
    path("c/<int:conversation_id>/ask", analysis_views.ask, name="ask"),
    path("c/<int:conversation_id>/notebook.ipynb", analysis_views.notebook, name="conversation_notebook"),
    path("t/<int:turn_id>/", analysis_views.turn, name="turn"),
    path("t/<int:turn_id>/cancel", analysis_views.cancel, name="turn_cancel"),
    path("t/<int:turn_id>/retry", analysis_views.retry, name="turn_retry"),
    path("t/<int:turn_id>/release", releases_views.request_run, name="request_release"),
    path("v/<int:version_id>/release", releases_views.request_from_version, name="version_release"),
    path("w/<int:workspace_id>/releases", releases_views.workspace_releases, name="workspace_releases"),
    path("r/<int:release_id>/", releases_views.release, name="release"),
    path("r/<int:release_id>/approve", releases_views.decide, {"decision": "approve"}, name="release_approve"),
    path("r/<int:release_id>/reject", releases_views.decide, {"decision": "reject"}, name="release_reject"),
    path("r/<int:release_id>/release", releases_views.decide, {"decision": "release"}, name="release_release"),
    path("jobs/<int:job_id>/", jobs_views.job, name="job"),
    path("jobs/<int:job_id>/status", jobs_views.status, name="job_status"),
    path("jobs/<int:job_id>/cancel", jobs_views.cancel, name="job_cancel"),
    path("jobs/<int:job_id>/retry", jobs_views.retry, name="job_retry"),
    path("admin/", admin.site.urls),
]

urlpatterns = api_v1 + pages


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return error("Not found.", 404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return error("Internal server error; the administrator can find details in the server log.", 500)
    from django.views.defaults import server_error

    return server_error(request)


def handler403(request, exception=None):
    if request.path.startswith("/api/"):
        return error(str(exception) or "Permission denied.", 403)
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)


admin.site.site_header = "Workbench site administration"
