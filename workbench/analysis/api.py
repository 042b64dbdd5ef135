from django.http import JsonResponse

from workbench.access import get_conversation_for_user, get_turn_for_user, get_version_for_user
from workbench.analysis import actions
from workbench.http import BadRequest, api, json_body


def _question(request) -> str:
    question = json_body(request).get("question")
    if not isinstance(question, str):
        raise BadRequest("'question' must be a string.")
    return question


def _turn_json(turn) -> dict:
    record = actions.read_turn(turn)
    outcome = record.get("outcome") or {}
    return {
        "id": turn.pk,
        "number": turn.number,
        "question": turn.question,
        "status": turn.status,
        "job": turn.job_id,
        "answer": record.get("answer"),
        "code": record.get("code"),
        "stdout": outcome.get("stdout"),
        "result": outcome.get("result"),
        "figures": [f.get("json") for f in outcome.get("figures") or []],
        "error": (outcome.get("error") or {}).get("message") or record.get("failed"),
        "attempts": record.get("attempts"),
        "candidates": len(record["candidates"]) if isinstance(record.get("candidates"), list) else None,
        "agreement": record.get("agreement"),  # how many candidate programs gave this answer
        "answer_form": record.get("form") or [],
        "seconds": record.get("seconds"),
        "partial": None if turn.is_finished else record.get("stream"),
        "sandbox_layers": outcome.get("layers"),
    }


@api("POST")
def conversations(request, version_id: int):
    version, _ = get_version_for_user(request.user, version_id, need="run")
    turn = actions.start_conversation(version=version, user=request.user, question=_question(request))
    return JsonResponse({"conversation": turn.conversation_id, "turn": _turn_json(turn)}, status=202)


@api("GET")
def conversation(request, conversation_id: int):
    found, _ = get_conversation_for_user(request.user, conversation_id)
    return JsonResponse(
        {"id": found.pk, "version": found.version_id, "turns": [_turn_json(actions.sync_turn(t)) for t in found.turns.order_by("number")]}
    )


@api("POST")
def turns(request, conversation_id: int):
    found, _ = get_conversation_for_user(request.user, conversation_id, need="run")
    turn = actions.ask(conversation=found, user=request.user, question=_question(request))
    return JsonResponse({"conversation": found.pk, "turn": _turn_json(turn)}, status=202)


@api("POST")
def cancel_turn(request, turn_id: int):
    turn, _ = get_turn_for_user(request.user, turn_id, need="run")
    return JsonResponse({"turn": _turn_json(actions.cancel_turn(turn=turn, user=request.user))})


@api("POST")
def retry_turn(request, turn_id: int):
    turn, _ = get_turn_for_user(request.user, turn_id, need="run")
    return JsonResponse({"turn": _turn_json(actions.retry_turn(turn=turn, user=request.user))}, status=202)
