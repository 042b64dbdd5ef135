"""Writes to accounts and workspaces."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from workbench.access import can_create_workspace
from workbench.accounts.models import Membership, Role, Workspace
from workbench.audit.actions import record_event


def create_workspace(*, user, name: str, description: str = "") -> Workspace:
    if not can_create_workspace(user):
        raise PermissionDenied("You may not create workspaces; ask a site admin for the data-owner permission.")
    name = name.strip()
    if not name:
        raise ValidationError("A workspace needs a name.")
    with transaction.atomic():
        workspace = Workspace.objects.create(name=name[:120], description=description, created_by=user)
        Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
        record_event(actor=user, action="workspace.create", obj=workspace, workspace_id=workspace.pk)
    return workspace


def set_membership(*, workspace: Workspace, actor, username: str, role: str, can_read_raw: bool = False) -> Membership:
    if role not in Role.values:
        raise ValidationError(f"Role must be one of {', '.join(Role.values)}.")
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationError(f"There is no active user called {username!r}.")
    with transaction.atomic():
        membership, created = Membership.objects.update_or_create(
            workspace=workspace, user=user, defaults={"role": role, "can_read_raw": can_read_raw}
        )
        _keep_an_owner(workspace)
        record_event(
            actor=actor,
            action="member.add" if created else "member.change",
            obj=membership,
            workspace_id=workspace.pk,
            details={"user": username, "role": role, "can_read_raw": can_read_raw},
        )
    return membership


def remove_membership(*, workspace: Workspace, actor, username: str) -> None:
    with transaction.atomic():
        deleted, _ = Membership.objects.filter(workspace=workspace, user__username=username).delete()
        if not deleted:
            raise ValidationError(f"{username!r} is not a member of this workspace.")
        _keep_an_owner(workspace)
        record_event(actor=actor, action="member.remove", obj=workspace, workspace_id=workspace.pk, details={"user": username})


def _keep_an_owner(workspace: Workspace) -> None:
    if not Membership.objects.filter(workspace=workspace, role=Role.OWNER).exists():
        raise ValidationError("A workspace must keep at least one data owner.")


def create_user(*, username: str, password: str, email: str = "", data_owner: bool = False, site_admin: bool = False):
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValidationError(f"A user called {username!r} already exists.")
    user = User.objects.create_user(username=username, password=password, email=email)
    if site_admin:
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    if data_owner:
        user.user_permissions.add(Permission.objects.get(codename="create_workspace", content_type__app_label="accounts"))
    record_event(actor=None, action="user.create", obj=user, details={"username": username, "data_owner": data_owner})
    return user
