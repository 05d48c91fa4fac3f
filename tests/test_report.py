"""The report page: one self-contained HTML file, checked in a real headless browser.

The browser tests drive Debian's `chromium` over the DevTools protocol on a pipe
(`--remote-debugging-pipe`: no port, no websocket client), with every host name
resolving to nothing (`--host-resolver-rules`), and assert on the DOM it renders:
one wear line per pair ending at `shoes list`'s distance, the limit line, one bar
per week, 84 calendar cells, the pain days in their cells, no request but the page
itself, no console error. They are skipped, saying so, when chromium is absent
(tests/setup.sh installs it).
"""

from __future__ import annotations

import base64
import html.parser
import json
import os
import random
import re
import select
import shutil
import stat
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from shoetrack.adapters.store import Store
from shoetrack.config import Config, parse_config
from shoetrack.core import series, training
from shoetrack.core.alerts import Pain
from shoetrack.core.episodes import PairHistory
from shoetrack.core.wear import Usage
from shoetrack.service import report as report_service
from shoetrack.service.shoes import add_shoe, retire_shoe

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (tests/setup.sh installs it): browser checks skipped")
TODAY = date.today()


# -- a two-year season ----------------------------------------------------------------------

def season(store, today: date, seed: int = 7) -> dict:
    """Two years of running up to `today`: four or five runs a week with a long run on
    every other Sunday and trail runs on Saturdays, cycling on some Mondays and Fridays,
    a week with half as much again five weeks ago, nine days in a row three weeks ago; five road pairs in turn
    (four retired), two trail pairs, a pair for Tuesdays, and ankle pain in the last
    weeks. Returns the pain entries {day: (level, side)}."""
    rng = random.Random(seed)
    first = today - timedelta(days=729)
    rows = []

    def session(day: date, sport: str, km: float | None = None, minutes: float | None = None,
                sub: str = "generic", hour: int = 6) -> None:
        rows.append({"source": f"season/{day}-{sport}.fit", "session_index": 0,
                     "start_time": f"{day}T{hour:02d}:30:00Z", "local_date": day.isoformat(),
                     "sport": sport, "sub_sport": sub, "distance_m": None if km is None else round(km * 1000),
                     "timer_s": round((minutes if minutes is not None else km * 5.7) * 60), "elapsed_s": None})

    for i in range(730):
        day = first + timedelta(days=i)
        back = (today - day).days
        weekday = day.weekday()
        build = 1.0 + 0.15 * ((i // 7) % 8) / 7  # 8-week blocks
        if 17 <= back < 26:  # nine days in a row
            session(day, "running", rng.uniform(5, 7.5))
            continue
        if 35 <= back < 42:  # a week with half as much again
            if weekday:
                session(day, "running", rng.uniform(8.5, 11), sub="trail" if weekday == 5 else "generic")
            continue
        if weekday == 6:  # a long run every other Sunday
            session(day, "running", rng.uniform(18.5, 21) if (i // 7) % 2 else rng.uniform(11, 15))
        elif weekday == 5:
            session(day, "running", rng.uniform(7, 11) * build, sub="trail")
        elif weekday in (1, 3):
            session(day, "running", rng.uniform(4.9, 7.4) * build)
        elif weekday == 2 and rng.random() < .4:
            session(day, "running", rng.uniform(4.1, 5.7))
        if weekday in (0, 4) and rng.random() < .55:
            session(day, "cycling", minutes=rng.uniform(35, 75), hour=17)
    store.record_file("season", "season", 0, "imported", sessions=rows)
    config = Config()

    def add(name: str, since: int, **options) -> None:
        add_shoe(store, config, name, since=first + timedelta(days=since), today=today, **options)

    add("Road A", 0, brand="Brooks", model="Ghost 14", default_for=["running"], start_km=150)
    add("Trail 1", 0, brand="Salomon", model="Speedcross 5", default_for=["running/trail"], limit_km=650,
        start_km=120)
    for name, since, model in (("Road B", 121, "Ghost 15"), ("Road C", 291, "Ghost 16"),
                               ("Road D", 441, "Novablast 4"), ("Road E", 589, "Novablast 5")):
        add(name, since, brand="Brooks" if "Ghost" in model else "Asics", model=model, default_for=["running"])
    for name, until in (("Road A", 120), ("Road B", 290), ("Road C", 440), ("Road D", 588)):
        retire_shoe(store, name, first + timedelta(days=until))
    add("Trail 2", 421, brand="Salomon", model="Speedcross 6", default_for=["running/trail"], limit_km=650)
    retire_shoe(store, "Trail 1", first + timedelta(days=420))
    add("Tempo", 680, brand="Saucony", model="Endorphin Speed", rules=["weekday = tue", "sport = running"])
    pains = {}
    for back, level, side in ((75, 2, "left"), (47, 3, "left"), (36, 4, "left"), (33, 5, "left"),
                              (31, 4, "left"), (20, 3, "left"), (9, 2, "right"), (2, 4, "left")):
        day = today - timedelta(days=back)
        store.add_pain(day.isoformat(), level, side, None)
        pains[day.isoformat()] = (level, side)
    return pains


@pytest.fixture
def seasoned(shoetrack):
    with Store(shoetrack.db) as store:
        pains = season(store, TODAY)
    return shoetrack, pains


def embedded(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="shoetrack-data">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


# -- a small DevTools client over a pipe -------------------------------------------------------

class Browser:
    """Headless chromium driven over --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-separated JSON)."""

    def __init__(self, folder: Path):
        to_chrome_r, self._out = os.pipe()
        self._in, from_chrome_w = os.pipe()
        self.log = folder / "chromium.log"
        args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={folder / 'profile'}",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
                "--mute-audio", "--hide-scrollbars", "about:blank"]
        with open(self.log, "wb") as log:
            # Chromium reads fd 3 and writes fd 4: a Python trampoline puts the pipes there.
            trampoline = "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); " \
                         "os.execv(sys.argv[3], sys.argv[3:])"
            self.proc = subprocess.Popen(
                [sys.executable, "-c", trampoline, str(to_chrome_r), str(from_chrome_w), *args],
                pass_fds=(to_chrome_r, from_chrome_w), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._id = 0
        self.events: list[dict] = []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._in], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise EOFError(f"chromium went away: {self.log.read_text(errors='replace')[-2000:]}")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def call(self, method: str, params: dict | None = None, timeout: float = 60):
        return self.send(method, params, self.session, timeout)

    def load(self, url: str, *, javascript: bool = True, dark: bool = False, width: int = 1280) -> None:
        self.events.clear()
        self.call("Emulation.setScriptExecutionDisabled", {"value": not javascript})
        self.call("Emulation.setEmulatedMedia",
                  {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": 2000, "deviceScaleFactor": 1, "mobile": False})
        self.call("Page.navigate", {"url": url})
        deadline = time.monotonic() + 60
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(self._message(deadline))

    def dom(self) -> str:
        root = self.call("DOM.getDocument", {"depth": -1})["root"]
        return self.call("DOM.getOuterHTML", {"nodeId": root["nodeId"]})["outerHTML"]

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})["result"]["value"]

    def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode(self.call("Page.captureScreenshot",
                                          {"format": "png", "captureBeyondViewport": True})["data"])
        path.write_bytes(data)
        return data

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def errors(self) -> list[str]:
        found = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params["exceptionDetails"])[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                found.append(json.dumps(params.get("args"))[:300])
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(params["entry"]["text"])
            elif method == "Network.loadingFailed":
                found.append(f"request failed: {params.get('errorText')}")
        return found

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, EOFError, OSError):
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
        os.close(self._out)
        os.close(self._in)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (tests/setup.sh installs it): browser checks skipped")
    chromium = Browser(tmp_path_factory.mktemp("chromium"))
    yield chromium
    chromium.close()


# -- the rendered DOM, read with the standard library ---------------------------------------

class Element:
    def __init__(self, tag: str, attrs: dict, parent: "Element | None"):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element] = []
        self.text = ""

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs) -> list["Element"]:
        return [e for e in self.iter() if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)
                and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def find(self, *args, **kwargs) -> "Element":
        found = self.find_all(*args, **kwargs)
        assert found, (args, kwargs)
        return found[0]

    def all_text(self) -> str:
        return self.text + "".join(child.all_text() for child in self.children)


class Dom(html.parser.HTMLParser):
    VOID = {"meta", "link", "br", "img", "input", "hr", "source", "col", "area", "base", "wbr"}

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Element("#document", {}, None)
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(element)
        if tag not in self.VOID:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Element(tag, {k: v or "" for k, v in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.text += data


def path_points(d: str) -> list[tuple[float, float]]:
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
    return list(zip(numbers[::2], numbers[1::2]))


def y_scale(svg: Element):
    """The value at a y coordinate of a chart, from its y axis guides (label, y)."""
    axis = next(e for e in svg.iter() if {"axis", "y"} <= e.classes)
    marks = []
    for guide in axis.find_all("g", "guides"):
        label = guide.find("text").all_text().strip()
        y = path_points(guide.find("path").attrs["d"])[0][1]
        marks.append((y, float(label)))
    (y0, v0), (y1, v1) = marks[0], marks[-1]
    return lambda y: v0 + (y - y0) * (v1 - v0) / (y1 - y0)


# -- the page in a real browser --------------------------------------------------------------

@needs_chromium
def test_the_page_renders_every_part_offline_without_errors(seasoned, browser, tmp_path):
    shoetrack, pains = seasoned
    page = tmp_path / "report.html"
    shoetrack("report", "--output", page)
    browser.load(page.as_uri())
    dom_text = browser.dom()
    shot = browser.screenshot(tmp_path / "report.png")
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 50_000
    assert browser.errors() == []
    assert browser.requests() == [page.as_uri()]  # nothing but the page itself
    dom = Dom(dom_text).root
    external = [(e.tag, k, v) for e in dom.iter() for k, v in e.attrs.items()
                if k in ("src", "href", "xlink:href", "action", "data", "poster") and not v.startswith("#")]
    assert external == []
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}|@import|url\(", dom_text, re.I)

    # 1. one wear line per pair, ending at `shoes list`'s distance, and the limits
    pairs = shoetrack.json("shoes", "list", "--all")
    wear = dom.find("svg", id="chart-wear")
    lines = wear.find_all("g", "wear-line")
    assert sorted(e.attrs["data-pair"] for e in lines) == sorted(p["name"] for p in pairs)
    value_at = y_scale(wear)
    for line in lines:
        pair = next(p for p in pairs if p["name"] == line.attrs["data-pair"])
        assert float(line.attrs["data-final-km"]) == pytest.approx(pair["distance_km"], abs=0.001)
        assert (line.attrs["data-retired"] == "true") == (pair["retired_on"] is not None)
        last_y = path_points(line.find("path").attrs["d"])[-1][1]
        assert value_at(last_y) == pytest.approx(pair["distance_km"], abs=0.5)  # drawn where it should end
    limits = wear.find_all("g", "limit")
    assert {float(e.attrs["data-limit"]) for e in limits} == {700.0, 650.0}
    for limit in limits:
        ys = {round(y, 3) for _, y in path_points(limit.find("path").attrs["d"])}
        assert len(ys) == 1 and value_at(ys.pop()) == pytest.approx(float(limit.attrs["data-limit"]), abs=0.5)
    assert {e.attrs["data-to"] for e in wear.find_all("g", "warn-band")} == {"700.000", "650.000"}
    assert wear.find_all("g", "projection")  # pairs in service reach their limit some day
    status = shoetrack.json("status")
    says = dom.find("section", id="wear")
    assert says.find("p", "retire-first").all_text() == "Retire first: " + ", ".join(status["retire_first"])
    assert "running/trail: Trail 2" in says.find("p", "wear-next").all_text()
    assert len(dom.find("table", "pairs").find_all("tr", "retired")) == 5

    # 2. one bar per week, the last being status's "this week"
    weekly = dom.find("svg", id="chart-weekly")
    bars = weekly.find_all("rect", "week-bar")
    assert len(bars) == 26 and len(weekly.find_all("rect", "cross-bar")) == 26
    assert float(bars[-1].attrs["data-km"]) == pytest.approx(status["load"]["week_km"], abs=0.001)
    assert bars[-1].attrs["data-week"] == TODAY.isoformat()
    data = embedded(dom_text)
    spikes = [b.attrs["data-week"] for b in bars if b.attrs["data-spike"] == "true"]
    assert spikes == [w["last"] for w in data["weekly"] if w["load_spike_fired"]]
    assert spikes == [c.attrs["data-week"] for c in dom.find("svg", id="chart-acwr").find_all("circle", "spike-mark")]
    spike_week = next(w for w in data["weekly"] if w["last"] == (TODAY - timedelta(days=35)).isoformat())
    assert spike_week["load_spike_held"]  # the week with half as much again
    assert [float(c.attrs["data-km"]) for c in bars] == [w["foot_km"] for w in data["weekly"]]

    # 3. the calendar: 84 days, the pain days in their cells
    cells = dom.find("div", "calendar").find_all("div", "cal-day")
    assert len(cells) == 84
    assert cells[-1].attrs["data-day"] == TODAY.isoformat()
    assert cells[0].attrs["data-day"] == (TODAY - timedelta(days=83)).isoformat()
    shown = {c.attrs["data-day"]: (int(c.attrs["data-pain"]), c.attrs["data-pain-side"])
             for c in cells if "data-pain" in c.attrs}
    assert shown == {day: entry for day, entry in pains.items() if (TODAY - date.fromisoformat(day)).days < 84}
    for cell in cells:
        if "data-pain" in cell.attrs:
            assert f"pain {cell.attrs['data-pain']}/10 {cell.attrs['data-pain-side']}" in cell.all_text()
    kinds = {c.attrs["data-kind"] for c in cells}
    assert kinds == {"run", "rest", "cross"} and any(c.attrs["data-long"] == "true" for c in cells)

    # 4. alerts and why, in the CLI's words
    alerts = dom.find("section", id="alerts")
    shown_alerts = [e.find("p", "message").all_text() for e in alerts.find_all("li", "alert")]
    assert shown_alerts == [f"! {a['message']} (since {a['since']})" for a in status["alerts"]]
    why_text = shoetrack("why").stdout
    for cause in alerts.find("ol", "why").find_all("li", "cause"):
        assert cause.find("p", "title").all_text() in why_text
        for item in cause.find("ul", "evidence").find_all("li"):
            assert f"- {item.all_text()}" in why_text
    assert alerts.find_all("tr", "episode") and alerts.find_all("svg", id="chart-timeline")


@needs_chromium
def test_the_page_works_with_javascript_off_in_dark_mode_and_printed(seasoned, browser, tmp_path):
    shoetrack, _ = seasoned
    page = tmp_path / "report.html"
    shoetrack("report", "--output", page, "--weeks", "12")
    browser.load(page.as_uri())
    light = browser.evaluate("getComputedStyle(document.body).backgroundColor")
    with_js = browser.dom()
    browser.load(page.as_uri(), javascript=False, dark=True)
    assert browser.evaluate("getComputedStyle(document.body).backgroundColor") != light == "rgb(255, 255, 255)"
    without_js = browser.dom()
    assert without_js == with_js  # nothing on the page depends on a script
    dom = Dom(without_js).root
    assert len(dom.find("svg", id="chart-weekly").find_all("rect", "week-bar")) == 12
    assert browser.errors() == [] and browser.requests() == [page.as_uri()]
    browser.screenshot(tmp_path / "dark.png")
    pdf = base64.b64decode(browser.call("Page.printToPDF", {"printBackground": True})["data"])
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    browser.load(page.as_uri(), width=800)  # a small laptop window: nothing wider than the page
    assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@needs_chromium
def test_a_name_cannot_break_out_of_the_page(shoetrack, browser, tmp_path):
    name = '</script><script>console.error("x")</script><img src=//x.example>'
    shoetrack("shoes", "add", name[:60], "--default-for", "running")
    shoetrack("log", TODAY.isoformat(), "5")
    page = tmp_path / "report.html"
    shoetrack("report", "--output", page)
    browser.load(page.as_uri())
    assert browser.errors() == [] and browser.requests() == [page.as_uri()]
    dom = Dom(browser.dom()).root
    assert len(dom.find_all("script")) == 1 and not dom.find_all("img")
    assert embedded(page.read_text())["shoes"][0]["name"] == name[:60]


# -- one source of truth -----------------------------------------------------------------------

def test_the_numbers_are_those_of_status_shoes_list_and_why(seasoned, tmp_path):
    shoetrack, _ = seasoned
    page = tmp_path / "report.html"
    assert shoetrack("report", "--output", page).stdout.strip() == f"wrote {page}"
    data = embedded(page.read_text())
    assert data["shoes"] == shoetrack.json("shoes", "list", "--all")
    status = shoetrack.json("status")
    assert "sources" in status and "sources" not in data["status"]  # the page is about the runner
    assert data["status"] == {k: v for k, v in status.items() if k != "sources"}
    assert data["why"] == shoetrack.json("why")
    assert data["as_of"] == TODAY.isoformat() and data["units"] == "km" and data["weeks"] == 26
    assert [w["foot_km"] for w in data["weekly"][-12:]] == data["status"]["weekly_km"]
    assert len(data["calendar"]) == 84 and len(data["weekly"]) == 26
    for line in data["wear"]:
        pair = next(p for p in data["shoes"] if p["name"] == line["pair"])
        assert line["points"][-1][1] == pair["distance_km"]
        assert line["points"][0][1] == pair["start_km"]
        kms = [km for _, km in line["points"]]
        assert kms == sorted(kms)  # distance only grows


def test_status_shows_the_last_12_weeks_as_a_sparkline(seasoned):
    shoetrack, _ = seasoned
    report = shoetrack.json("status")
    weeks = report["weekly_km"]
    assert len(weeks) == 12
    assert weeks[-1] == pytest.approx(report["load"]["week_km"], abs=0.001)
    assert weeks[-2] == pytest.approx(report["load"]["last_week_km"], abs=0.001)
    text = shoetrack("status").stdout
    line = next(line for line in text.splitlines() if line.startswith("Last 12 weeks: "))
    assert re.fullmatch(r"Last 12 weeks: [▁▂▃▄▅▆▇█]{12} \(7 days each, the last ending \d{4}-\d\d-\d\d; "
                        r"most \d+\.\d km\)", line)
    assert line.split()[3] == series.sparkline(weeks)


def test_sparkline_scales_from_zero():
    assert series.sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert series.sparkline([0, 0, 0]) == "▁▁▁"
    assert series.sparkline([]) == ""
    assert series.sparkline([50, 100]) == "▅█"


# -- the page itself --------------------------------------------------------------------------------

def test_the_page_holds_no_url_no_script_and_no_external_resource(seasoned, tmp_path):
    shoetrack, _ = seasoned
    page = tmp_path / "report.html"
    shoetrack("report", "--output", page)
    text = page.read_text()
    assert not re.search(r"https?:|@import|url\(|<link|<iframe|<img|<object|<embed|googleapis|cdn", text, re.I)
    assert re.findall(r"<script[^>]*>", text) == ['<script type="application/json" id="shoetrack-data">']
    assert text.count("<svg") == 4 and "xmlns" not in text
    assert "prefers-color-scheme:dark" in text and "@media print" in text
    assert len(text.encode()) < 1_500_000


def test_units_follow_the_config_and_json_stays_in_km(seasoned, tmp_path):
    shoetrack, _ = seasoned
    config = tmp_path / "config.toml"
    config.write_text('units = "mi"\n')
    shoetrack.config = config
    page = tmp_path / "report.html"
    shoetrack("report", "--output", page)
    text = page.read_text()
    data = embedded(text)
    assert data["units"] == "mi" and data["shoes"] == shoetrack.json("shoes", "list", "--all")
    pair = next(p for p in data["shoes"] if p["name"] == "Road E")
    row = Dom(text).root.find("tr", data_pair="Road E")
    assert f"{pair['distance_km'] / 1.609344:.1f} / {pair['limit_km'] / 1.609344:.0f} mi" in row.all_text()
    assert "Distances in mi." in text


def test_an_empty_history_still_gives_a_page(shoetrack, tmp_path):
    page = tmp_path / "report.html"
    shoetrack("report", "--output", page)
    data = embedded(page.read_text())
    assert data["shoes"] == [] and data["wear"] == [] and data["episodes"] == []
    assert len(data["calendar"]) == 84 and all(c["kind"] == "rest" for c in data["calendar"])
    assert "No pairs yet" in page.read_text()


def test_the_page_goes_to_the_data_folder_or_where_the_config_says(shoetrack, isolated_home, tmp_path):
    shoetrack("log", TODAY.isoformat(), "5")
    result = shoetrack("report")
    default = shoetrack.db.parent / "report.html"  # beside the database: $XDG_DATA_HOME/shoetrack by default
    assert result.stdout.strip() == f"wrote {default}" and default.is_file()
    assert stat.S_IMODE(default.stat().st_mode) == 0o600  # like the database: health data
    elsewhere = tmp_path / "pages"
    elsewhere.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'[report]\npath = "{elsewhere / "mine.html"}"\n')
    shoetrack.config = config
    assert shoetrack("report", "--as-of", (TODAY - timedelta(days=3)).isoformat()).stdout.strip() == \
        f"wrote {elsewhere / 'mine.html'}"
    assert embedded((elsewhere / "mine.html").read_text())["as_of"] == (TODAY - timedelta(days=3)).isoformat()
    config.write_text('[report]\npath = "/nowhere/at/all/report.html"\n')
    assert "report.path: folder does not exist" in shoetrack("config", "check", expect=78).output
    assert "cannot write the report to /nowhere/at/all/report.html" in shoetrack("report", expect=1).output


def test_the_page_is_replaced_atomically(shoetrack, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    page = folder / "report.html"
    page.write_text("the old page")
    renames = []
    real_replace = os.replace

    def replace(source, target):
        renames.append((Path(source), Path(target), Path(source).read_bytes()[:15]))
        real_replace(source, target)

    monkeypatch.setattr(report_service.os, "replace", replace)
    shoetrack("report", "--output", page)
    [(source, target, head)] = renames
    assert target == page and source.parent == page.parent and source.name.startswith(".report.html.")
    assert head == b"<!DOCTYPE html>"
    assert [p.name for p in folder.iterdir()] == ["report.html"]

    def full_disk(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_service.os, "replace", full_disk)
    before = page.read_bytes()
    result = shoetrack("report", "--output", page, expect=1)
    assert result.output.strip() == f"Error: cannot write the report to {page}: No space left on device"
    assert page.read_bytes() == before  # the old page stays whole
    assert [p.name for p in folder.iterdir()] == ["report.html"]  # no temp file left


def test_open_hands_the_page_to_the_browser(shoetrack, tmp_path, monkeypatch):
    import webbrowser

    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    page = tmp_path / "report.html"
    shoetrack("report", "--output", page, "--open")
    assert opened == [page.resolve().as_uri()]
    monkeypatch.setattr(webbrowser, "open", lambda url: False)
    result = shoetrack("report", "--output", page, "--open")
    assert "no browser found" in result.stderr


@pytest.mark.parametrize("weeks", ["0", "261", "x", "-3", "2.5"])
def test_weeks_out_of_range_are_refused(shoetrack, weeks):
    result = shoetrack("report", "--weeks", weeks, expect=2)
    assert "--weeks must be a whole number from 1 to 260" in result.stderr


def test_refresh_report_follows_report_enabled(shoetrack, isolated_home):
    shoetrack("log", TODAY.isoformat(), "5")
    with Store(shoetrack.db) as store:
        assert report_service.refresh_report(store, parse_config("[report]\nenabled = false\n"), TODAY) is None
        assert not (shoetrack.db.parent / "report.html").exists()
        path = report_service.refresh_report(store, parse_config(""), TODAY)
    assert path == shoetrack.db.parent / "report.html" and path.is_file()


def test_the_charting_library_is_loaded_only_to_write_a_page(tmp_path):
    db = tmp_path / "st.db"
    Store(db).close()
    script = (
        "import sys\n"
        "from shoetrack.cli import cli\n"
        "import shoetrack.daemon, shoetrack.service.report\n"
        "try:\n"
        f"    cli.main(['--db', {str(db)!r}, 'status'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('pygal loaded:', 'pygal' in sys.modules)\n"
        "try:\n"
        f"    cli.main(['--db', {str(db)!r}, 'report', '--output', {str(tmp_path / 'r.html')!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('pygal loaded:', 'pygal' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "HOME": str(tmp_path)})
    loaded = [line.split()[-1] for line in result.stdout.splitlines() if line.startswith("pygal loaded:")]
    assert loaded == ["False", "True"], (result.stdout, result.stderr)


# -- the series behind the charts (pure) ---------------------------------------------------------

def test_wear_line_starts_at_the_start_distance_ends_on_the_day_and_thins_old_days():
    settings = Usage(name="A", limit_km=700, start_km=50, since=date(2024, 1, 1))
    days = [(date(2024, 1, 1) + timedelta(days=i), 1, 5.0) for i in range(600)]
    pair = PairHistory.build(settings, days)
    as_of = date(2025, 12, 1)
    points = series.wear_line(pair, as_of, max_points=100)
    assert points[0] == (date(2024, 1, 1), 50) and points[-1] == (as_of, 50 + 5 * 600)
    assert len(points) <= 100 and [p[1] for p in points] == sorted(p[1] for p in points)
    retired = PairHistory.build(Usage(name="B", limit_km=700, retired_on=date(2024, 3, 1)), days[:40])
    assert series.wear_line(retired, as_of)[-1] == (date(2024, 3, 1), 200)
    assert series.wear_line(pair, date(2023, 6, 1)) == []  # not in service yet


def test_projection_runs_to_the_limit_or_half_a_year_ahead():
    today = date(2026, 1, 1)
    assert series.projection(600, 700, today, date(2026, 2, 1)) == [(today, 600), (date(2026, 2, 1), 700)]
    far = series.projection(100, 700, today, today + timedelta(days=600))
    assert far[1][0] == today + timedelta(days=series.PROJECTION_HORIZON_DAYS)
    assert far[1][1] == pytest.approx(100 + 600 * series.PROJECTION_HORIZON_DAYS / 600)
    assert series.projection(710, 700, today, date(2025, 12, 1)) is None
    assert series.projection(100, 700, today, None) is None


def test_weeks_and_calendar_count_back_from_the_day():
    as_of = date(2026, 3, 14)
    days = {as_of - timedelta(days=i): training.Day(foot_km=10, longest_km=10, on_foot=True) for i in range(0, 20, 2)}
    days[as_of - timedelta(days=1)] = training.Day(cross_minutes=40)
    weeks = series.weekly_totals(days, as_of, 3)
    assert [w[1] for w in weeks] == [as_of - timedelta(days=14), as_of - timedelta(days=7), as_of]
    assert [w[2] for w in weeks] == [30, 30, 40] and weeks[-1][3] == 40
    cells = series.calendar(days, [Pain(as_of, 3, "left"), Pain(as_of - timedelta(days=90), 5)], as_of,
                            weeks=12, long_run_km=10)
    assert len(cells) == 84 and cells[-1].day == as_of and cells[-1].pains == (Pain(as_of, 3, "left"),)
    assert cells[-1].long_run and cells[-2].kind == "cross" and cells[0].kind == "rest"


@needs_chromium
def test_the_browser_checks_catch_a_request_and_a_console_error(browser, tmp_path):
    """The checks above have teeth: a page that fetches and logs an error is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><img src="https://cdn.example.com/x.png">'
                   '<script>console.error("boom")</script></body></html>')
    browser.load(bad.as_uri())
    assert "https://cdn.example.com/x.png" in browser.requests()
    assert any("boom" in e for e in browser.errors())


@pytest.mark.parametrize("first, last", [(date(2026, 11, 1), date(2026, 11, 27)), (date(2025, 1, 1), date(2026, 11, 27)),
                                         (date(2006, 4, 8), date(2027, 5, 1)), (date(1990, 1, 1), date(2100, 12, 31))])
def test_a_long_history_gets_few_readable_date_labels(first, last):
    """Twenty years of runs once got a label every January, overlapping; the longest
    history the edge allows (1990 to 2100) once had no step at all."""
    from shoetrack.adapters.charts import _date_ticks

    ticks = _date_ticks(first, last)
    assert 1 <= len(ticks) <= 9 and ticks == sorted(ticks)
    assert all(first <= tick <= last for tick in ticks) or ticks == [first]
