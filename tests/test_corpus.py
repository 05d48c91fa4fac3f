"""Real FIT files from other projects: shoetrack must agree with fitparse on each.

../shared/fit-corpus/reference.json records what fitparse 1.2.0 decodes from
every file. These tests run when ../shared exists and are skipped otherwise.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from shoetrack.adapters import fit
from shoetrack.cli import cli
from shoetrack.service.importing import OUTCOMES
from tests.helpers import CORPUS, needs_corpus

pytestmark = [needs_corpus, pytest.mark.corpus]

# Files shoetrack deliberately reads better than fitparse 1.2.0 ("FIT files fitparse
# cannot read well"), each with its own test below, and the reason.
READ_BETTER_THAN_FITPARSE = {
    "python-fitparse/tests/files/coros-pace-2-cycling-misaligned-fields.fit":
        "event fields (uint32) of 1 byte, which fitparse refuses: read as bytes and ignored, as the FIT SDK does",
}
# Activity files without a session message: summarised from their records when
# these carry times; these three copies of the FIT SDK's DeveloperData.fit have
# three records without a timestamp, and no time anywhere else.
WITHOUT_A_SESSION = (
    "fitdecode/tests/files/DeveloperData.fit",
    "python-fitparse/tests/files/DeveloperData.fit",
    "tormoder-fit/testdata/fitsdk/DeveloperData.fit",
)


@pytest.fixture(scope="module")
def corpus_import(tmp_path_factory):
    """Import the whole corpus once, then again; return both reports and the database."""
    folder = tmp_path_factory.mktemp("corpus")
    config = folder / "config.toml"
    config.write_text("")
    db = folder / "shoetrack.db"

    def run():
        result = CliRunner().invoke(
            cli, ["--config", str(config), "--db", str(db), "import", str(CORPUS), "--json"]
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    first, second = run(), run()
    return first, second, db


def _reference() -> list[dict]:
    return json.loads((CORPUS / "reference.json").read_text())


def _outcomes(report: dict) -> dict[str, tuple[str, dict]]:
    return {item["path"]: (outcome, item) for outcome in OUTCOMES for item in report[outcome]}


def _stored_sessions(db, source: str) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = conn.execute(
        "SELECT * FROM sessions WHERE source = ? ORDER BY session_index", [source]
    ).fetchall()
    conn.close()
    return [dict(r) for r in rows]


def test_every_file_gets_the_outcome_fitparse_implies(corpus_import):
    first, _, _ = corpus_import
    outcomes = _outcomes(first)
    for ref in _reference():
        path = str(CORPUS / ref["path"])
        outcome, item = outcomes[path]
        decoded = ref["fitparse_1_2_0"]
        if ref["path"] in READ_BETTER_THAN_FITPARSE:
            continue
        if not decoded["ok"]:
            assert outcome == "failed", path
            assert item["reason"] and "\n" not in item["reason"]
        elif decoded["file_type"] != "activity":
            assert outcome == "skipped", path
            assert decoded["file_type"] in item["reason"]
        else:
            assert outcome in ("imported", "duplicate"), (path, item)
    assert sum(len(items) for items in first.values()) == len(_reference())


def test_stored_sessions_equal_what_fitparse_decodes(corpus_import):
    first, _, db = corpus_import
    outcomes = _outcomes(first)
    by_path = {str(CORPUS / ref["path"]): ref for ref in _reference()}
    checked = 0
    for ref in _reference():
        path = str(CORPUS / ref["path"])
        outcome, item = outcomes[path]
        if ref["path"] in READ_BETTER_THAN_FITPARSE:
            continue
        if outcome == "duplicate":
            # A duplicate must repeat an imported file with the same sessions.
            original = by_path[item["of"]]["fitparse_1_2_0"]["sessions"]
            assert [s["sport"] for s in original] == [
                s["sport"] for s in ref["fitparse_1_2_0"]["sessions"]
            ]
            continue
        if outcome != "imported":
            continue
        expected = ref["fitparse_1_2_0"]["sessions"]
        stored = _stored_sessions(db, path)
        assert item["sessions"] == len(expected) == len(stored), path
        for want, got in zip(expected, stored):
            assert got["sport"] == want["sport"]
            assert got["sub_sport"] == want["sub_sport"]
            if isinstance(want["start_time"], str):
                assert got["start_time"] == want["start_time"] + "Z"
            if want["total_distance"] is None:
                assert got["distance_m"] is None
            else:
                assert got["distance_m"] == pytest.approx(want["total_distance"], abs=1.0)
            assert got["elapsed_s"] == pytest.approx(want["total_elapsed_time"])
            assert got["timer_s"] == pytest.approx(want["total_timer_time"])
            assert got["avg_hr"] == want["avg_heart_rate"]
            checked += 1
    assert checked >= 30


def test_importing_the_same_folder_again_adds_nothing(corpus_import):
    first, second, db = corpus_import
    assert second["imported"] == []
    assert len(second["duplicate"]) == len(first["imported"]) + len(first["duplicate"])
    assert second["skipped"] == first["skipped"]
    assert second["failed"] == first["failed"]
    conn = sqlite3.connect(db)
    stored = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
    conn.close()
    assert stored == sum(item["sessions"] for item in first["imported"])


def test_the_coros_file_fitparse_refuses_is_imported_as_fitdecode_reads_it(corpus_import):
    """A uint32 of 1 byte in its event messages: fitparse refuses the file ("Invalid
    field size 1 for type 'uint32'"), the FIT SDK and fitdecode read it, and so does
    shoetrack, which reads such a field as bytes and ignores it."""
    first, _, db = corpus_import
    outcomes = _outcomes(first)
    for ref in _reference():
        if ref["path"] not in READ_BETTER_THAN_FITPARSE:
            continue
        path = str(CORPUS / ref["path"])
        assert not ref["fitparse_1_2_0"]["ok"]
        outcome, item = outcomes[path]
        assert outcome == "imported" and item["sessions"] == 1, item
        [want] = ref["fitdecode_0_11"]["sessions"]
        [got] = _stored_sessions(db, path)
        assert got["start_time"] == want["start_time"].replace("+00:00", "Z")
        assert (got["sport"], got["sub_sport"]) == (want["sport"], want["sub_sport"])
        assert got["distance_m"] == pytest.approx(want["total_distance"])
        assert got["elapsed_s"] == pytest.approx(want["total_elapsed_time"])
        assert got["timer_s"] == pytest.approx(want["total_timer_time"])


def test_the_activity_without_a_session_says_it_has_nothing_to_count(corpus_import):
    """fitparse finds no session in DeveloperData.fit (an activity of three records).
    shoetrack would summarise it from its records, but they carry no time and neither
    does its file_id: no session can be dated, and the import says so instead of
    passing over it in silence."""
    first, _, _ = corpus_import
    outcomes = _outcomes(first)
    assert {ref["path"] for ref in _reference()
            if ref["fitparse_1_2_0"]["ok"] and ref["fitparse_1_2_0"]["file_type"] == "activity"
            and not ref["fitparse_1_2_0"]["sessions"]} == set(WITHOUT_A_SESSION)
    imported = []
    for name in WITHOUT_A_SESSION:
        data = (CORPUS / name).read_bytes()
        decoded = fit.decode(data)
        assert decoded == fit._by_reference(data)
        assert decoded.sessions == () and decoded.notes == (fit.UNDATED,)
        outcome, item = outcomes[str(CORPUS / name)]
        if outcome == "imported":
            imported.append(item)
    [item] = imported  # the other two are the same bytes
    assert item["sessions"] == 0 and item["notes"] == [fit.UNDATED]
