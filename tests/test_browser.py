"""The pages in headless Chromium, as a person uses them: log in, drop a file, follow the job, see the charts."""

import os
import shutil

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _LiveServer:
    def __init__(self, url: str):
        self.url = url


@pytest.fixture
def server(transactional_db):
    """This test's own server thread, stopped (and its database connections closed) when the test ends."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    thread = LiveServerThread("127.0.0.1", StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield _LiveServer(f"http://127.0.0.1:{thread.port}")
    thread.terminate()


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
    # itself are still synchronous, so tell Django that is intended.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not os.path.exists(CHROMIUM):
        if os.environ.get("WORKBENCH_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def test_a_person_uploads_by_drag_and_drop_and_sees_the_profile(server, browser, workspace, settings):
    settings.ALLOWED_HOSTS = ["*"]
    page = browser.new_page()
    requested, errors = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(f"{server.url}/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button.primary")
    page.click(f"a[href='/w/{workspace.pk}/']")

    rows = "ward,age,weight\\n" + "".join(f"{'ABC'[i % 3]},{20 + i % 50},{60 + i % 30}.5\\n" for i in range(200))
    transfer = page.evaluate_handle(
        f"() => {{ const t = new DataTransfer(); t.items.add(new File([`{rows}`], 'admissions.csv', {{type: 'text/csv'}})); return t; }}"
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    assert "admissions.csv ready to upload" in page.inner_text("#upload-status")
    page.click("#upload-form button.primary")

    page.wait_for_url("**/jobs/*/")
    page.click("text=Open the new version")
    page.wait_for_selector(".chart .main-svg", timeout=15000)
    assert page.locator(".chart .main-svg").count() >= 3  # ward bars, age and weight histograms
    page.wait_for_selector("text=Page 1 of 8")
    page.click("text=Next ›")
    page.wait_for_selector("text=Page 2 of 8")
    assert errors == []
    assert all(url.startswith(server.url) for url in requested), [u for u in requested if not u.startswith(server.url)]


def test_a_refused_file_is_explained_on_the_page(server, browser, workspace, settings):
    settings.ALLOWED_HOSTS = ["*"]
    page = browser.new_page()
    page.goto(f"{server.url}/login/")
    page.fill("input[name=username]", "bob")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button.primary")
    page.goto(f"{server.url}/w/{workspace.pk}/")
    page.set_input_files("#file-input", files=[{"name": "notes.csv", "mimeType": "text/csv", "buffer": b"\x00\x01\x02binary" * 50}])
    page.click("#upload-form button.primary")
    page.wait_for_selector("#upload-error")
    assert "binary file" in page.inner_text("#upload-error")


def test_an_owner_edits_a_policy_watches_the_preview_and_anonymises(server, browser, uploaded, settings):
    """The policy editor as a person uses it: change a parameter and an operator, see the ten-row preview
    follow, anonymise, and read the risk report with its chart on the new version."""
    from workbench.console.demo import demo_table
    from workbench.jobs.models import Job
    from workbench.privacy.actions import start_scan

    settings.ALLOWED_HOSTS = ["*"]
    demo = demo_table()
    raw = uploaded(demo.to_csv(index=False).encode(), filename="demo.csv")
    job = start_scan(version=raw, user=None)  # runs at once: no transaction here, and tasks are eager
    assert Job.objects.get(pk=job.pk).status == "succeeded"
    age, name = [c["name"] for c in raw.schema].index("age"), [c["name"] for c in raw.schema].index("patient_name")

    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.url}/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button.primary")
    page.goto(f"{server.url}/v/{raw.pk}/")
    page.wait_for_selector("#policy-editor table.data", timeout=60000)  # the preview loads by itself
    assert demo["patient_name"][0] not in page.inner_text("#policy-editor table.data")

    page.fill(f"#p-{age}-width", "5")
    page.press(f"#p-{age}-width", "Tab")
    first_age = int(demo["age"][0])
    band = f"{first_age // 5 * 5}-{first_age // 5 * 5 + 4}"
    for _ in range(150):  # the page's CSP forbids wait_for_function's eval; poll instead
        if band in page.inner_text("#policy-editor"):
            break
        page.wait_for_timeout(200)
    assert band in page.inner_text("#policy-editor table.data")

    page.select_option(f"#op-{name}", "hash")
    page.wait_for_selector(f"#p-{name}-length", timeout=30000)
    page.wait_for_selector("#policy-editor table.data")
    page.click("#policy-editor button.primary")
    page.wait_for_url("**/jobs/*/")
    page.wait_for_selector("text=Open the new version", timeout=60000)
    page.click("text=Open the new version")
    page.wait_for_selector("[data-chart=risk] .main-svg", timeout=30000)
    report = page.inner_text(".risk")
    assert "smallest class (min k)" in report
    assert "Kept but not counted as quasi-identifiers" in page.inner_text("main")  # the worst case is said too
    assert errors == []


def test_a_conversation_turn_streams_then_shows_its_chart_and_code(server, browser, uploaded, settings):
    """While the worker writes, the page shows the reply so far; when the turn is done, htmx swaps in the answer,
    the plotly chart is drawn, and the code can be copied."""
    import json as json_module

    import plotly.express as px

    from workbench.analysis.actions import seal
    from workbench.analysis.models import Conversation, Turn, TurnStatus
    from workbench.datasets.models import Tier
    from workbench.storage import unwrap_key

    settings.ALLOWED_HOSTS = ["*"]
    version = uploaded(b"sex,bili\nf,1.0\nm,2.0\nf,3.0\n", filename="safe.csv")
    version.tier = Tier.SYNTHETIC
    version.save(update_fields=["tier"])
    key = unwrap_key(version.dataset.wrapped_key)
    conversation = Conversation.objects.create(dataset=version.dataset, version=version)
    turn = Turn.objects.create(
        conversation=conversation,
        number=1,
        question="mean bili by sex as a bar chart",
        status=TurnStatus.RUNNING,
        stream=seal(key, "```python\nresult = df"),
    )
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.goto(f"{server.url}/login/")
    page.fill("input[name=username]", "bob")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button.primary")
    page.goto(f"{server.url}/c/{conversation.pk}/")
    assert "result = df" in page.inner_text(f"#turn-{turn.pk} pre.stream")
    code = 'result = df.groupby("sex")["bili"].mean()\nfig = px.bar(result.reset_index(), x="sex", y="bili")'
    figure = px.bar(x=["f", "m"], y=[2.0, 2.0]).to_json()
    outcome = {
        "ok": True,
        "stdout": "",
        "result": {"kind": "table", "columns": ["sex", "bili"], "rows": [["f", 2.0], ["m", 2.0]], "total_rows": 2},
        "figures": [{"name": "fig", "json": figure}],
        "seconds": 0.6,
    }
    record = {
        "question": turn.question,
        "code": code,
        "answer": "Both average 2.0.",
        "outcome": outcome,
        "attempts": 1,
        "seconds": 3.2,
        "model_seconds": 2.5,
        "exchanges": [],
    }
    Turn.objects.filter(pk=turn.pk).update(status=TurnStatus.ANSWERED, record=seal(key, record))
    page.wait_for_selector(f"#turn-{turn.pk}[data-status=answered] .chart .main-svg", timeout=15000)
    assert page.evaluate(f"document.querySelector('#turn-{turn.pk} .chart').clientHeight") >= 400  # not squeezed flat
    assert "Both average 2.0." in page.inner_text(f"#turn-{turn.pk}")
    page.click(f"#turn-{turn.pk} [data-copy]")
    page.wait_for_selector(f"#turn-{turn.pk} [data-copy]:has-text('Copied')", timeout=5000)
    assert errors == [], errors
    assert json_module.loads(figure)["data"][0]["type"] == "bar"
