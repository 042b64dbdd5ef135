from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from workbench.access import can, get_conversation_for_user, get_turn_for_user, get_version_for_user
from workbench.analysis import actions, present
from workbench.errors import Refused


@login_required
@require_POST
def start(request: HttpRequest, version_id: int) -> HttpResponse:
    version, _ = get_version_for_user(request.user, version_id, need="run")
    try:
        turn = actions.start_conversation(version=version, user=request.user, question=request.POST.get("question", ""))
    except Refused as problem:
        messages.error(request, str(problem))
        return redirect("version", version.pk)
    return redirect("conversation", turn.conversation_id)


@login_required
@require_safe
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation, membership = get_conversation_for_user(request.user, conversation_id)
    can_run = can(membership, "run")
    turns = [
        present.turn_view(actions.sync_turn(turn), can_run=can_run)
        for turn in conversation.turns.select_related("conversation__dataset").order_by("number")
    ]
    return render(
        request,
        "analysis/conversation.html",
        {
            "conversation": conversation,
            "version": conversation.version,
            "dataset": conversation.version.dataset,
            "turns": turns,
            "can_run": can_run,
            "busy": any(not t["turn"].is_finished for t in turns),
        },
    )


@login_required
@require_POST
def ask(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation, _ = get_conversation_for_user(request.user, conversation_id, need="run")
    try:
        actions.ask(conversation=conversation, user=request.user, question=request.POST.get("question", ""))
    except Refused as problem:
        messages.error(request, str(problem))
    return redirect("conversation", conversation.pk)


@login_required
@require_safe
def turn(request: HttpRequest, turn_id: int) -> HttpResponse:
    found, membership = get_turn_for_user(request.user, turn_id)
    return render(request, "analysis/_turn.html", {"item": present.turn_view(actions.sync_turn(found), can_run=can(membership, "run"))})


@login_required
@require_POST
def cancel(request: HttpRequest, turn_id: int) -> HttpResponse:
    found, _ = get_turn_for_user(request.user, turn_id, need="run")
    actions.cancel_turn(turn=found, user=request.user)
    return redirect("conversation", found.conversation_id)


@login_required
@require_POST
def retry(request: HttpRequest, turn_id: int) -> HttpResponse:
    found, _ = get_turn_for_user(request.user, turn_id, need="run")
    try:
        actions.retry_turn(turn=found, user=request.user)
    except Refused as problem:
        messages.error(request, str(problem))
    return redirect("conversation", found.conversation_id)


@login_required
@require_safe
def notebook(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation, _ = get_conversation_for_user(request.user, conversation_id)
    response = HttpResponse(present.notebook(conversation), content_type="application/x-ipynb+json")
    response["Content-Disposition"] = f'attachment; filename="conversation-{conversation.pk}.ipynb"'
    return response
