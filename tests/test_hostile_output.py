"""Model and data output are hostile to the browser: a turn whose every rendered field holds a payload — chart title,
axis titles, hover text, annotations, table cells, column names, printed output, answer, error, the question —
opened by the workspace's owner in headless Chromium sends no request, changes nothing outside the turn, runs no
script, and the page is whole (nothing swallowed the rest of it).

The payloads are what a red team used before this was fixed: `</script>` closing the chart's JSON element, htmx
attributes that made the owner's browser promote an analyst to owner with the owner's CSRF token, images by URL,
and `<!--` that swallowed the page."""

import json

import pytest

from tests.test_browser import browser, server  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _payloads(workspace_id: int) -> dict[str, str]:
    promote = (  # out of the chart's JSON element first, as the red team did
        f'</script><form hx-post="/w/{workspace_id}/members" hx-trigger="load" hx-vals=\'{{"username": "bob", "role": "owner", "raw": "on"}}\'></form>'
        f'<div hx-post="/w/{workspace_id}/members" hx-trigger="load" hx-vals=\'{{"username": "bob", "role": "owner"}}\'>x</div>'
    )
    return {
        "script": "</script><script>window.pwned = 1; alert(1)</script>",
        "htmx": promote,
        "image": '<img src="http://203.0.113.7/x.png" onerror="window.pwned = 2"><svg onload="window.pwned = 3"></svg>',
        "comment": "<!--<script>",
    }


def _owner_page(chromium, live):
    """A page logged in as alice, the owner (the one whose browser a payload would turn against her), recording
    every request and dialog from then on."""
    page = chromium.new_page()
    requests, dialogs = [], []
    page.on("request", lambda request: requests.append((request.method, request.url)))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button.primary")
    page.wait_for_load_state("networkidle")
    requests.clear()
    return page, requests, dialogs


def _hostile_figure(text: str) -> str:
    return json.dumps(
        {
            "data": [{"type": "bar", "x": ["f", text], "y": [1, 2], "hovertemplate": text + "%{y}", "name": text, "text": [text, text]}],
            "layout": {
                "title": {"text": text},
                "xaxis": {"title": {"text": text}},
                "yaxis": {"title": {"text": text}},
                "annotations": [{"text": text, "x": 0, "y": 1, "showarrow": False}],
                "images": [{"source": "http://203.0.113.7/chart.png", "x": 0, "y": 0, "sizex": 1, "sizey": 1}],
            },
        }
    )


def test_hostile_payloads_in_every_field_of_a_turn_do_nothing_in_the_owners_browser(server, browser, uploaded, settings, users):  # noqa: F811
    from workbench.accounts.models import Membership
    from workbench.analysis.actions import seal
    from workbench.analysis.models import Conversation, Turn, TurnStatus
    from workbench.datasets.models import Tier
    from workbench.storage import unwrap_key

    settings.ALLOWED_HOSTS = ["*"]
    version = uploaded(b"sex,bili\nf,1.0\nm,2.0\nf,3.0\n", filename="safe.csv")
    version.tier = Tier.SYNTHETIC
    version.save(update_fields=["tier"])
    workspace = version.dataset.workspace
    key = unwrap_key(version.dataset.wrapped_key)
    conversation = Conversation.objects.create(dataset=version.dataset, version=version)
    payloads = _payloads(workspace.pk)
    all_of_them = "".join(payloads.values())
    turns = []
    for number, (name, text) in enumerate(payloads.items(), start=1):
        outcome = {
            "ok": number % 2 == 1,
            "stdout": text,
            "error": None if number % 2 == 1 else {"type": "ValueError", "message": text, "traceback": text},
            "result": {"kind": "table", "columns": [text, "n"], "rows": [[text, 1], [all_of_them, 2]], "total_rows": 2},
            "figures": [{"name": "fig", "json": _hostile_figure(text)}, {"name": "bad", "json": text}],
            "seconds": 0.5,
            "layers": {"namespaces": [text], "landlock_abi": 7, "seccomp": True},
        }
        record = {"question": text, "code": text, "answer": text, "outcome": outcome, "attempts": 1, "seconds": 1.0, "model": text}
        turns.append(
            Turn.objects.create(
                conversation=conversation,
                number=number,
                question=f"{name}: {text}",
                status=TurnStatus.ANSWERED if outcome["ok"] else TurnStatus.FAILED,
                record=seal(key, record),
            )
        )
    before = sorted(Membership.objects.filter(workspace=workspace).values_list("user__username", "role"))

    page, requests, dialogs = _owner_page(browser, server)
    page.goto(f"{server.url}/c/{conversation.pk}/")
    page.wait_for_selector(f"#turn-{turns[0].pk} .chart .main-svg", timeout=15000)
    page.locator(f"#turn-{turns[0].pk} .chart .bars path").last.hover(force=True)  # the hover text is drawn only now
    page.wait_for_timeout(2500)  # any hx-trigger="load" or poll would have fired by now

    assert dialogs == [], dialogs
    assert page.evaluate("window.pwned") is None
    foreign = [(method, url) for method, url in requests if not url.startswith(server.url)]
    assert foreign == [], foreign
    assert [r for r in requests if r[0] != "GET"] == [], requests
    pages = [url for _, url in requests if "/static/" not in url and not url.endswith("/favicon.ico")]
    assert pages == [f"{server.url}/c/{conversation.pk}/"], pages
    after = sorted(Membership.objects.filter(workspace=workspace).values_list("user__username", "role"))
    assert after == before, "a payload changed the workspace's members"
    # the page is whole and every payload is shown as text, where it was put
    for turn in turns:
        assert page.locator(f"#turn-{turn.pk} p.muted.small").count() >= 1, f"turn {turn.number} was swallowed"
    assert page.locator("form[action$='/ask']").count() == 1, "the page after the turns was swallowed"
    text = page.inner_text("#turns")
    for payload in payloads.values():
        assert payload.split(">")[0] in text
    assert page.locator("#turns script:not([type='application/json'])").count() == 0
    assert page.locator("#turns [hx-post], #turns img, #turns svg[onload]").count() == 0
    chart_titles = page.locator(f"#turn-{turns[0].pk} .chart .gtitle").evaluate_all("elements => elements.map(e => e.textContent)")
    assert any("‹/script›" in title for title in chart_titles), chart_titles  # drawn as text, markup swapped for look-alikes


def test_a_table_whose_names_and_cells_are_payloads_does_nothing_on_its_pages(server, browser, uploaded, settings):  # noqa: F811
    """The same payloads as a table's column names and cells: the version page (profile charts, rows preview, scan)
    and the dataset page, opened by the owner, send nothing and change nothing."""
    import csv
    import io

    from workbench.accounts.models import Membership

    settings.ALLOWED_HOSTS = ["*"]
    payloads = list(_payloads(0).values())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([f"col{i} {p}" for i, p in enumerate(payloads)] + ["n"])
    for row in range(30):
        writer.writerow([payloads[(row + i) % len(payloads)] for i in range(len(payloads))] + [row])
    version = uploaded(buffer.getvalue().encode(), filename="hostile.csv")
    workspace = version.dataset.workspace
    before = sorted(Membership.objects.filter(workspace=workspace).values_list("user__username", "role"))
    page, requests, dialogs = _owner_page(browser, server)
    for url in (f"/v/{version.pk}/", f"/d/{version.dataset_id}/"):
        page.goto(f"{server.url}{url}")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1500)
        assert page.evaluate("window.pwned") is None, url
    assert dialogs == []
    assert [r for r in requests if not r[1].startswith(server.url)] == []
    assert [r for r in requests if r[0] != "GET"] == [], requests
    assert sorted(Membership.objects.filter(workspace=workspace).values_list("user__username", "role")) == before
    page.goto(f"{server.url}/v/{version.pk}/")
    page.wait_for_selector("#preview table", timeout=15000)
    assert "col1 </script><form hx-post" in page.inner_text("#preview")
    assert page.locator("#preview [hx-post], #preview img, main img").count() == 0


def test_chart_attributes_that_can_hold_a_url_html_or_style_only_draw(server, browser, uploaded, settings, users, api):  # noqa: F811
    """Done when (issue 23): the owner opens a turn whose figures carry every plotly attribute that can hold a URL,
    HTML or a style (the attack suite's figures, stored as they came, so the page's own cleaning is what is tested),
    a release review whose declared labels are links and styles, and a version page whose profile charts are built
    from such cells. No request leaves for anything but the pages and static files, and no audit event is written
    for a read the owner did not make (no preview page, no download)."""
    import pandas as pd

    from tests.test_box_attacks import HOSTILE_FIGURES, LINK, STYLE
    from workbench.analysis.actions import seal
    from workbench.analysis.models import Conversation, Turn, TurnStatus
    from workbench.audit.models import AuditEvent
    from workbench.datasets.models import Tier, Version
    from workbench.storage import unwrap_key

    settings.ALLOWED_HOSTS = ["*"]
    frame = pd.DataFrame({"ward": ["A"] * 60 + [LINK] * 40 + [STYLE] * 40, "bili": [1.0 + i % 7 for i in range(140)]})
    raw = uploaded(frame.to_csv(index=False).encode(), filename="wards.csv")
    safe = Version.objects.create(
        dataset=raw.dataset, number=2, tier=Tier.SYNTHETIC, parent=raw, made_by={"kind": "test"}, file=raw.file, schema=raw.schema
    )
    key = unwrap_key(raw.dataset.wrapped_key)
    conversation = Conversation.objects.create(dataset=safe.dataset, version=safe)
    figures = [{"name": name, "json": json.dumps({"data": [], "layout": {}} | figure)} for name, figure in HOSTILE_FIGURES.items()]
    outcome = {"ok": True, "stdout": "", "result": {"kind": "value", "value": 1}, "figures": figures, "layers": {"seccomp": True}}
    turn = Turn.objects.create(
        conversation=conversation,
        number=1,
        question="charts",
        status=TurnStatus.ANSWERED,
        record=seal(key, {"question": "charts", "code": "result = 1", "answer": "done", "outcome": outcome}),
    )
    query = {"kind": "table", "groups": [{"column": "ward", "values": ["A", LINK, STYLE]}], "measures": [{"statistic": "count"}]}
    response = api(
        "bob", "post", f"/api/v1/versions/{safe.pk}/releases", data={"reason": "board", "query": query}, content_type="application/json"
    )
    assert response.status_code in (200, 201), response.content
    release_id = response.json()["id"]
    assert api("alice", "post", f"/api/v1/releases/{release_id}/approve").status_code == 200
    released = api("alice", "post", f"/api/v1/releases/{release_id}/release")
    assert released.status_code == 200, released.content

    before = AuditEvent.objects.count()
    page, requests, dialogs = _owner_page(browser, server)
    htmx = []  # requests the page's own htmx made (the version page loads its first preview page so)
    page.on("request", lambda request: htmx.append(request.url) if request.headers.get("hx-request") else None)
    visits = [f"/c/{conversation.pk}/", f"/r/{release_id}/", f"/v/{raw.pk}/"]
    for url in visits:
        page.goto(f"{server.url}{url}")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1000)
        for chart in page.locator(".chart .bars path, .chart .point").all()[:5]:
            chart.hover(force=True)  # hover text is drawn only now
        page.wait_for_timeout(500)
    drawn = page.evaluate("document.querySelectorAll('.chart .main-svg').length")  # the version page: its profile charts
    assert drawn >= 1, "no chart was drawn"
    page.goto(f"{server.url}/c/{conversation.pk}/")
    page.wait_for_load_state("networkidle")
    drawn = page.locator(f"#turn-{turn.pk} .chart .main-svg").count()
    assert drawn >= len(HOSTILE_FIGURES), f"{drawn} of {len(HOSTILE_FIGURES)} cleaned figures were drawn"
    assert dialogs == []
    foreign = [r for r in requests if not r[1].startswith(server.url)]
    assert foreign == [], foreign
    # what the browser asked for: the pages visited, their static files, and the version page's own first preview
    asked = {f"{server.url}{url}" for url in visits}
    other = [(m, u) for m, u in requests if u not in asked and u not in htmx and "/static/" not in u and not u.endswith("/favicon.ico")]
    assert other == [], other
    assert not any("/download" in u for _, u in requests), requests
    assert [u for u in htmx if "preview" in u] == [f"{server.url}/v/{raw.pk}/preview?page=1"], htmx
    written = list(AuditEvent.objects.filter(pk__gt=0).order_by("pk").values_list("action", flat=True)[before:])
    assert "version.download" not in written and written.count("version.preview") <= 1, written
